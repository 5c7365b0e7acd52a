"""A whole campaign decided at once: the one assembly of the engine's inputs with screening and the
jury (:mod:`~oyren.batch.evaluate`), runs over files (``oyren run``, ``oyren verify``), audit
bundles and exports. No database: the store calls in here. May import the rules, inputs,
screening, jury and base modules.
"""
