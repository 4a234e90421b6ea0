"""Imports every module of ``models`` that defines tables, so metadata is complete."""

import importlib
import pkgutil

import models

for _m in pkgutil.iter_modules(models.__path__):
    if _m.name not in ("registry",) and not _m.name.startswith("_") and _m.ispkg is False:
        importlib.import_module(f"models.{_m.name}")
