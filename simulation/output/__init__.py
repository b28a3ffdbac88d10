"""Output: result tables and files (written atomically, only into folders the tool owns), figures and validation reports."""
