"""``labelmend init``: create a dataset with its ordered class names."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from labelmend._validation import check_unique
from labelmend.errors import InputError
from labelmend.storage import repository as repo
from labelmend.storage.models import Dataset


def parse_classes(spec: str) -> list[str]:
    """Class names from ``"a,b,c"`` or from a file with one name per line.

    A spec without a comma is a file's path (one class name alone is never a dataset's
    classes), so a mistyped file name is named as such:

    >>> parse_classes("cat, dog,fox")
    ['cat', 'dog', 'fox']
    >>> parse_classes("clases.txt")
    Traceback (most recent call last):
    labelmend.errors.InputError: classes 'clases.txt' has no comma, so it is read as a file of class names, one per line, and there is no such file. Give the names as 'a,b,c' or the path of an existing file.
    """
    path = Path(spec)
    if path.is_file():
        text = path.read_text().splitlines()
    elif "," in spec:
        text = spec.split(",")
    else:
        found = "it is not a file" if path.exists() else "there is no such file"
        raise InputError(
            f"classes {spec!r} has no comma, so it is read as a file of class names, one per "
            f"line, and {found}. Give the names as 'a,b,c' or the path of an existing file.",
            inputs=("classes",),
        )
    return [name.strip() for name in text if name.strip()]


def init_dataset(session: Session, name: str, classes: Sequence[str]) -> Dataset:
    """Create a dataset with ordered class names (at least two, all different).

    Examples
    --------
    >>> from labelmend.storage import open_store
    >>> with open_store("sqlite://") as session:  # an in-memory store
    ...     pets = init_dataset(session, "pets", ["cat", "dog", "fox"])
    >>> pets.name, pets.classes
    ('pets', ['cat', 'dog', 'fox'])
    >>> with open_store("sqlite://") as session:
    ...     init_dataset(session, "birds", ["owl"])
    Traceback (most recent call last):
    labelmend.errors.InputError: A dataset needs at least 2 classes; got ['owl'].
    """
    if not name.strip():
        raise InputError("The dataset name is empty.")
    if len(classes) < 2:
        raise InputError(f"A dataset needs at least 2 classes; got {list(classes)}.")
    check_unique("class names", np.asarray(classes, dtype=str))
    return repo.create_dataset(session, name, [str(c) for c in classes])
