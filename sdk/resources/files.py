"""``client.files``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

from .._errors import BadRequestError
from .._pagination import AsyncPage
from .._provider import Capability
from .._sync import SyncResource, to_sync
from ..types.files import FileDeleted, FileObject
from ._base import AsyncAPIResource, split_options

FileInput = str | os.PathLike[str] | bytes | IO[bytes] | tuple[str, bytes]


def read_file_input(file: FileInput) -> tuple[str, bytes]:
    """(filename, content) from a path, bytes, an open binary file or a (name, bytes) pair."""
    if isinstance(file, tuple):
        return str(file[0]), bytes(file[1])
    if isinstance(file, bytes):
        return "upload", file
    if isinstance(file, (str, os.PathLike)):
        path = Path(file)
        if not path.is_file():
            raise BadRequestError(f"file {str(path)!r} does not exist or is not a regular file", param="file",
                                  status_code=400, code="invalid_file")
        return path.name, path.read_bytes()
    data = file.read()
    if isinstance(data, str):
        raise BadRequestError("file must be opened in binary mode ('rb')", param="file", status_code=400)
    return Path(getattr(file, "name", "upload")).name, data


class AsyncFiles(AsyncAPIResource):
    async def create(self, *, file: FileInput, purpose: str, **kwargs: Any) -> FileObject:
        """Upload a file (path, bytes, binary file object or ``(filename, bytes)``) for ``purpose``."""
        _, options = split_options(kwargs)
        backend = self._default_backend(Capability.FILES, "files")
        filename, content = read_file_input(file)
        return await backend.create_file(content, filename, purpose, options)

    async def list(self, *, purpose: str | None = None, limit: int | None = None, order: str | None = None,
                   after: str | None = None, **kwargs: Any) -> AsyncPage[FileObject]:
        _, options = split_options(kwargs)
        backend = self._default_backend(Capability.FILES, "files")
        params = {"purpose": purpose, "limit": limit, "order": order}

        async def fetch(cursor: str | None) -> Any:
            return await backend.list_files({**params, "after": cursor}, options)

        return AsyncPage(await fetch(after), fetch)

    async def retrieve(self, file_id: str, **kwargs: Any) -> FileObject:
        _, options = split_options(kwargs)
        backend = self._default_backend(Capability.FILES, "files")
        return await backend.retrieve_file(file_id, options)

    async def delete(self, file_id: str, **kwargs: Any) -> FileDeleted:
        _, options = split_options(kwargs)
        backend = self._default_backend(Capability.FILES, "files")
        return await backend.delete_file(file_id, options)

    async def content(self, file_id: str, **kwargs: Any) -> bytes:
        _, options = split_options(kwargs)
        backend = self._default_backend(Capability.FILES, "files")
        return await backend.file_content(file_id, options)


class Files(SyncResource[AsyncFiles]):
    create = to_sync(AsyncFiles.create)
    list = to_sync(AsyncFiles.list)
    retrieve = to_sync(AsyncFiles.retrieve)
    delete = to_sync(AsyncFiles.delete)
    content = to_sync(AsyncFiles.content)
