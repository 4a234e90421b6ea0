"""Yunque's domain: tables (``models.tables``), shared names (``models.enums``), pure rules
(``models.rules``) and the validated shapes of input and output (``models.schemas``)."""
