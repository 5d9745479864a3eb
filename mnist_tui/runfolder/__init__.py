"""The run folder: the contract between whoever trains and whoever watches (no torch, no Textual).

See the README's "The run folder" section for every file and its format. ``layout`` names
the files and their records, ``writer`` keeps a folder while a run trains, ``reader`` reads
one while it is written.
"""
