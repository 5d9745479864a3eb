"""The Textual dashboard. Nothing here imports torch at module level: the first frame
paints before torch and the data load, inside the training worker."""
