"""What each page shows, as typed view models and no HTML: the public pages, the organizer's, the
jury's, the charts' series and the cached standings behind them. Data comes from the store's
functions; no SQL here. May import the store and everything below it; the web shell renders it.
"""
