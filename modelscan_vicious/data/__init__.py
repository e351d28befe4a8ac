"""Loading of user data: labelled CSVs, auxiliary inputs, built-in datasets. Images are float32 in [0, 1]."""
