"""The storage contract (:mod:`.base`, :mod:`.types`, :mod:`.patch`) and its backends
(:mod:`.memory`, :mod:`.local`, :mod:`.postgres`), with what they share: the live-writer lifecycle
(:mod:`.live`), metadata derived from items (:mod:`.summary`), listing rules (:mod:`.query`) and
the JSON form of threads (:mod:`.serialize`). Import from the submodules (or from
:mod:`threadstore`)."""
