"""Cursor pages. ``limit`` is the page size; iterating a page walks every item of every
following page (``for`` on :class:`Page`, ``async for`` on :class:`AsyncPage`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

from ._calls import PageData
from .types import ResponseMeta

T = TypeVar("T")

__all__ = ["Page", "AsyncPage", "AsyncPageRequest"]


class _PageBase(Generic[T]):
    data: list[T]
    has_more: bool
    next_cursor: str | None
    raw: dict[str, Any]
    meta: ResponseMeta

    def __init__(self, page: PageData[T]) -> None:
        self.data = page.data
        self.has_more = page.has_more
        self.next_cursor = page.next_cursor
        self.raw = page.raw
        self.meta = page.meta

    @property
    def request_id(self) -> str | None:
        return self.meta.request_id

    def has_next_page(self) -> bool:
        return self.has_more and self.next_cursor is not None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(items={len(self.data)}, has_more={self.has_more}, "
            f"next_cursor={self.next_cursor!r})"
        )


class Page(_PageBase[T]):
    """One page of a list. ``for item in page`` continues through the following pages."""

    def __init__(self, page: PageData[T], fetch: Callable[[str], Page[T]]) -> None:
        super().__init__(page)
        self._fetch = fetch

    def get_next_page(self) -> Page[T]:
        if not self.has_next_page() or self.next_cursor is None:
            raise RuntimeError("no next page: check has_next_page() first")
        return self._fetch(self.next_cursor)

    def iter_pages(self) -> Iterator[Page[T]]:
        page: Page[T] = self
        seen: set[str] = set()
        while True:
            yield page
            cursor = page.next_cursor
            if not page.has_next_page() or cursor is None or cursor in seen:
                return
            seen.add(cursor)
            page = page.get_next_page()

    def auto_paging_iter(self, *, max_items: int | None = None) -> Iterator[T]:
        """Every item from this page on, at most ``max_items`` when given."""
        n = 0
        for page in self.iter_pages():
            for item in page.data:
                if max_items is not None and n >= max_items:
                    return
                n += 1
                yield item

    def __iter__(self) -> Iterator[T]:
        return self.auto_paging_iter()


class AsyncPage(_PageBase[T]):
    """One page of a list. ``async for item in page`` continues through the following pages."""

    def __init__(self, page: PageData[T], fetch: Callable[[str], Awaitable[AsyncPage[T]]]) -> None:
        super().__init__(page)
        self._fetch = fetch

    async def get_next_page(self) -> AsyncPage[T]:
        if not self.has_next_page() or self.next_cursor is None:
            raise RuntimeError("no next page: check has_next_page() first")
        return await self._fetch(self.next_cursor)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        page: AsyncPage[T] = self
        seen: set[str] = set()
        while True:
            yield page
            cursor = page.next_cursor
            if not page.has_next_page() or cursor is None or cursor in seen:
                return
            seen.add(cursor)
            page = await page.get_next_page()

    async def auto_paging_iter(self, *, max_items: int | None = None) -> AsyncIterator[T]:
        n = 0
        async for page in self.iter_pages():
            for item in page.data:
                if max_items is not None and n >= max_items:
                    return
                n += 1
                yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self.auto_paging_iter()


class AsyncPageRequest(Generic[T]):
    """What ``AsyncClient.*.list()`` returns: ``await`` it for the first :class:`AsyncPage`,
    or ``async for`` over it directly for every item."""

    def __init__(self, load: Callable[[], Awaitable[AsyncPage[T]]]) -> None:
        self._load = load

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._load().__await__()

    async def _items(self) -> AsyncIterator[T]:
        page = await self._load()
        async for item in page:
            yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()
