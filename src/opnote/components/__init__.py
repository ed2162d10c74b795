"""opnote's spaCy components. Factories are registered in :mod:`opnote.factories`."""
