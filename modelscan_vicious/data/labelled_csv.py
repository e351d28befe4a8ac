"""The tiny labelled set: a CSV of `label` + pixel columns, or of `path,label` image references."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modelscan_vicious.data.images import image_file_shape, read_image
from modelscan_vicious.errors import DataLoadError

MAX_ROWS = 100_000


@dataclass(frozen=True)
class LabelledSet:
    images: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    labels: np.ndarray  # (N,) int64
    source: str

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class CsvLayout:
    kind: str  # "pixels" | "paths"
    n_pixels: int  # pixel columns (0 for the paths form)
    image_shape: tuple[int, int, int] | None = None  # (C, H, W) of the first image of the paths form


def read_csv_layout(path: Path) -> CsvLayout:
    """Inspect the header only: which form the CSV has and how many pixel columns it holds."""
    header, _ = _read_rows(path, header_only=True)
    layout = _layout(path, header)
    if layout.kind == "paths":
        return CsvLayout("paths", 0, _first_image_shape(path, header))
    return layout


def _first_image_shape(path: Path, header: list[str]) -> tuple[int, int, int] | None:
    """(C, H, W) of the first listed image, from its header alone: a hint for models that do not
    record their input shape (traced TorchScript). None when it cannot be read; loading reports that."""
    _, rows = _read_rows(path, first_row_only=True)
    if not rows:
        return None
    line, row = rows[0]
    try:
        return image_file_shape(_safe_join(path, line, row[header.index("path")]))
    except DataLoadError:
        return None


def load_labelled_csv(
    path: Path, input_shape: tuple[int, int, int], n_classes: int, *, pixel_range: str = "auto"
) -> LabelledSet:
    """Parse and validate the whole CSV; every malformed row raises DataLoadError naming file and line."""
    header, rows = _read_rows(path)
    layout = _layout(path, header)
    if not rows:
        raise DataLoadError(f"{path}: the CSV has a header but no data rows")
    label_col = header.index("label")
    labels = np.array([_parse_label(path, line, row[label_col], n_classes) for line, row in rows], dtype=np.int64)
    if layout.kind == "paths":
        path_col = header.index("path")
        images = np.stack([_read_row_image(path, line, row[path_col], input_shape) for line, row in rows])
    else:
        images = _pixels(path, header, rows, input_shape, pixel_range)
    return LabelledSet(images=images.astype(np.float32), labels=labels, source=str(path))


def _read_rows(
    path: Path, header_only: bool = False, first_row_only: bool = False
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    if not path.is_file():
        raise DataLoadError(f"{path}: labelled CSV not found")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise DataLoadError(f"{path}: the CSV is empty")
            header = [h.strip().lower() for h in header]
            if header_only:
                return header, []
            rows: list[tuple[int, list[str]]] = []
            for row in reader:
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(rows) >= MAX_ROWS:
                    raise DataLoadError(f"{path}: more than {MAX_ROWS} rows; a labelled set should be small")
                if len(row) != len(header):
                    raise DataLoadError(
                        f"{path}, line {reader.line_num}: {len(row)} fields, the header has {len(header)}"
                    )
                rows.append((reader.line_num, row))
                if first_row_only:
                    break
    except UnicodeDecodeError as err:
        raise DataLoadError(f"{path}: not a UTF-8 text CSV ({err.reason})") from err
    except csv.Error as err:
        raise DataLoadError(f"{path}: malformed CSV ({err})") from err
    return header, rows


def _layout(path: Path, header: list[str]) -> CsvLayout:
    if "label" not in header:
        raise DataLoadError(f"{path}: missing column 'label' (header: {', '.join(header[:6])}...)")
    if "path" in header:
        return CsvLayout("paths", 0)
    n_pixels = len(header) - 1
    if n_pixels == 0:
        raise DataLoadError(f"{path}: no pixel columns and no 'path' column")
    return CsvLayout("pixels", n_pixels)


def _parse_label(path: Path, line: int, cell: str, n_classes: int) -> int:
    try:
        value = float(cell)
    except ValueError:
        raise DataLoadError(f"{path}, line {line}: label {cell!r} is not a number") from None
    if not value.is_integer():
        raise DataLoadError(f"{path}, line {line}: label {cell!r} is not a whole-number class index")
    if not 0 <= value < n_classes:
        raise DataLoadError(f"{path}, line {line}: label {cell!r} is outside the model's {n_classes} outputs")
    return int(value)


def _pixels(path: Path, header: list[str], rows, input_shape: tuple[int, int, int], pixel_range: str) -> np.ndarray:
    expected = int(np.prod(input_shape))
    pixel_cols = [i for i, name in enumerate(header) if name != "label"]
    if len(pixel_cols) != expected:
        raise DataLoadError(
            f"{path}: {len(pixel_cols)} pixel columns, the model's input {tuple(input_shape)} needs {expected}"
        )
    values = np.empty((len(rows), expected), dtype=np.float32)
    for i, (line, row) in enumerate(rows):
        try:
            values[i] = [float(row[c]) for c in pixel_cols]
        except ValueError:
            bad = next(row[c] for c in pixel_cols if not _is_number(row[c]))
            raise DataLoadError(f"{path}, line {line}: pixel value {bad!r} is not a number") from None
        if not np.isfinite(values[i]).all():
            raise DataLoadError(f"{path}, line {line}: pixel values must be finite")
    return _scale_pixels(path, values, pixel_range).reshape((len(rows), *input_shape))


def _scale_pixels(path: Path, values: np.ndarray, pixel_range: str) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    if pixel_range == "auto":
        pixel_range = "0-1" if hi <= 1.0 else "0-255"
    limit = 1.0 if pixel_range == "0-1" else 255.0
    if lo < 0 or hi > limit:
        raise DataLoadError(f"{path}: pixel values span [{lo:g}, {hi:g}], outside the {pixel_range} range")
    return values / limit


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_row_image(csv_path: Path, line: int, relative: str, input_shape: tuple[int, int, int]) -> np.ndarray:
    """One `path` cell -> (C, H, W) image; errors name the CSV line as well as the image."""
    image_path = _safe_join(csv_path, line, relative)
    try:
        return read_image(image_path, input_shape)
    except DataLoadError as err:
        raise DataLoadError(f"{csv_path}, line {line}: {err}") from err


def _safe_join(csv_path: Path, line: int, relative: str) -> Path:
    """Resolve an image path relative to the CSV's folder; refuse anything that escapes it."""
    root = csv_path.resolve().parent
    target = (root / relative.strip()).resolve()
    if not target.is_relative_to(root):
        raise DataLoadError(f"{csv_path}, line {line}: image path {relative!r} escapes the CSV's folder")
    if not target.is_file():
        raise DataLoadError(f"{csv_path}, line {line}: image {relative!r} not found")
    return target
