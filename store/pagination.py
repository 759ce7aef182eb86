"""One page of a longer list, as the ``pagination`` template macro reads it."""

from __future__ import annotations

from math import ceil


class Paginated:
    """For a dataclass with ``page``, ``per_page`` and ``total``: the pages around it."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages
