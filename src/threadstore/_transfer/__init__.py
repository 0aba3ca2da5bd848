"""Moving threads between stores and files, exactly: copies between backends, exports and
imports (:mod:`.record` says what a thread carries, :mod:`.copy` how it is written). The public
face is :mod:`threadstore.transfer`."""
