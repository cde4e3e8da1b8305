"""Evals in the store: definitions, runs and graded items (``records``), the API over them (``service``) and
the runner that works through the runs (``runner``)."""
