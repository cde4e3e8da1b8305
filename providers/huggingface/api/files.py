"""``client.files`` in process: the store in ``LLMAAS_HOME``, the same one ``llmaas serve`` opens, so a file
uploaded from a script is there for the server on that home, and the reverse.

In process the caller is the machine's own user: uploads belong to no key (as in the server's keyless
mode), and every file in the store can be read, whichever key uploaded it through a server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmaas._errors import BadRequestError, NotFoundError
from llmaas._pagination import PageResult
from llmaas._threads import to_thread
from llmaas.types import FileDeleted, FileObject

if TYPE_CHECKING:
    from llmaas.store import Store


def _missing(file_id: str) -> NotFoundError:
    return NotFoundError(f"No such File object: {file_id}", status_code=404, param="id", code="file_not_found")


class StoreFiles:
    def __init__(self, home: str | None = None) -> None:
        self._home = home
        self._store: Store | None = None

    def store(self) -> Store:
        """The store, opened on first use (it needs only the standard library)."""
        if self._store is None:
            from llmaas._home import cache_home
            from llmaas.store import Store

            self._store = Store(self._home or cache_home())
        return self._store

    async def create(self, content: bytes, filename: str, purpose: str) -> FileObject:
        from llmaas.settings import FineTuningSettings
        from llmaas.store import FILE_PURPOSES
        from llmaas.store.training_files import InvalidTrainingFile, check_jsonl

        if purpose not in FILE_PURPOSES:
            raise BadRequestError(f"purpose must be one of {sorted(FILE_PURPOSES)}, got {purpose!r}", status_code=400,
                                  param="purpose")
        if not content:
            raise BadRequestError("the uploaded file is empty", status_code=400, param="file")
        if purpose == "fine-tune":
            try:
                await to_thread(check_jsonl, content, FineTuningSettings.resolve().limits())
            except InvalidTrainingFile as exc:
                raise BadRequestError(str(exc), status_code=400, param="file", code="invalid_file") from None
        if purpose == "batch":
            from llmaas.settings import BatchSettings
            from llmaas.store.batch_files import check_upload

            await to_thread(check_upload, content, BatchSettings.resolve().limits())
        if purpose == "evals":
            from llmaas.store.evals.service import check_evals_file

            await to_thread(check_evals_file, content)
        store = self.store()
        return _file(await to_thread(store.add_file, None, filename, purpose, content))

    async def list(self, params: dict[str, Any]) -> PageResult[FileObject]:
        from llmaas.store import ANYONE

        limit = int(params.get("limit") or 10000)
        rows, more = await to_thread(self.store().list_files, ANYONE, params.get("purpose"), params.get("after"),
                                     limit, params.get("order") or "desc")
        return PageResult(data=[_file(r) for r in rows], has_more=more)

    async def retrieve(self, file_id: str) -> FileObject:
        from llmaas.store import ANYONE

        row = await to_thread(self.store().get_file, file_id, ANYONE)
        if row is None:
            raise _missing(file_id)
        return _file(row)

    async def delete(self, file_id: str) -> FileDeleted:
        from llmaas.store import ANYONE

        if not await to_thread(self.store().delete_file, file_id, ANYONE):
            raise _missing(file_id)
        return FileDeleted(id=file_id, object="file", deleted=True)

    async def content(self, file_id: str) -> bytes:
        await self.retrieve(file_id)
        return await to_thread(self.store().blob_path(file_id).read_bytes)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def _file(row: Any) -> FileObject:
    from llmaas.store import file_object

    return FileObject.model_validate(file_object(row))
