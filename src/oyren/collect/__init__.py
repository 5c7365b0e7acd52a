"""Collecting entries and their counts from the platforms: connectors, discovery by hashtag
(:mod:`~oyren.collect.discover`), crawl checkpoints (:mod:`~oyren.collect.checkpoints`), the
quota-aware tracking plan (:mod:`~oyren.collect.plan`) and workflow (:mod:`~oyren.collect.track`),
and collection into the database (:mod:`~oyren.collect.dbstore`). May import the store and
everything below it; never the pages or the shells.
"""
