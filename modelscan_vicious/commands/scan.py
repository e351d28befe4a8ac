def scan_command() -> None:
    """placeholder"""
