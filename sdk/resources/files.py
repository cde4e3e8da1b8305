"""``client.files``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Literal, TypeAlias, Union

from typing_extensions import Unpack

from .._errors import BadRequestError
from .._pagination import AsyncPaginator, PageResult, SyncPage
from .._provider import Capability
from .._response import APIResponse, RawView, raw, sync_raw
from .._sync import SyncResource
from ..types.create_params import FileListParams, RequestOptionsParams
from ..types.files import FileDeleted, FileObject
from ._base import AsyncAPIResource, paginate

FileInput: TypeAlias = Union[str, "os.PathLike[str]", bytes, IO[bytes], tuple[str, bytes]]
FilePurpose: TypeAlias = Literal["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]


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
    """``client.files``: files uploaded for fine-tuning (``fine-tune``), batches (``batch``) and evals
    (``evals``), checked line by line at upload."""
    async def create(self, *, file: FileInput, purpose: FilePurpose | str,
                     **params: Unpack[RequestOptionsParams]) -> FileObject:
        """Upload a file (path, bytes, binary file object or ``(filename, bytes)``) for ``purpose``."""
        _, options = self._split(params)
        backend = self._default_backend(Capability.FILES, "files")
        filename, content = read_file_input(file)
        return await backend.create_file(content, filename, purpose, options)

    def list(self, **params: Unpack[FileListParams]) -> AsyncPaginator[FileObject]:
        """The files of this key: a page that iterates on through every file (on the async client, ``await``
        it for the page or ``async for`` over it)."""
        fields, options = self._split(params)
        backend = self._default_backend(Capability.FILES, "files")
        query = {"purpose": fields.get("purpose"), "limit": fields.get("limit"), "order": fields.get("order")}

        async def fetch(cursor: str | None) -> PageResult[FileObject]:
            return await backend.list_files({**query, "after": cursor}, options)

        return paginate(fetch, fields.get("after"))

    async def retrieve(self, file_id: str, **params: Unpack[RequestOptionsParams]) -> FileObject:
        """The metadata of file ``file_id`` (name, bytes, purpose, creation time)."""
        _, options = self._split(params)
        backend = self._default_backend(Capability.FILES, "files")
        return await backend.retrieve_file(file_id, options)

    async def delete(self, file_id: str, **params: Unpack[RequestOptionsParams]) -> FileDeleted:
        """Delete file ``file_id``."""
        _, options = self._split(params)
        backend = self._default_backend(Capability.FILES, "files")
        return await backend.delete_file(file_id, options)

    async def content(self, file_id: str, **params: Unpack[RequestOptionsParams]) -> bytes:
        """The bytes of file ``file_id`` (a batch's output file is read this way)."""
        _, options = self._split(params)
        backend = self._default_backend(Capability.FILES, "files")
        return await backend.file_content(file_id, options)

    @property
    def with_raw_response(self) -> AsyncFilesWithRawResponse:
        """The same calls, answered with the HTTP response (status, headers, request id) and ``parse()``."""
        return AsyncFilesWithRawResponse(self)


class AsyncFilesWithRawResponse(RawView[AsyncFiles]):
    async def create(self, *, file: FileInput, purpose: FilePurpose | str,
                     **params: Unpack[RequestOptionsParams]) -> APIResponse[FileObject]:
        return await raw(self._resource.create)(file=file, purpose=purpose, **params)

    async def retrieve(self, file_id: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[FileObject]:
        return await raw(self._resource.retrieve)(file_id, **params)

    async def delete(self, file_id: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[FileDeleted]:
        return await raw(self._resource.delete)(file_id, **params)

    async def content(self, file_id: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[bytes]:
        return await raw(self._resource.content)(file_id, **params)


class Files(SyncResource[AsyncFiles]):
    def create(self, *, file: FileInput, purpose: FilePurpose | str,
               **params: Unpack[RequestOptionsParams]) -> FileObject:
        return self._call(self._async.create(file=file, purpose=purpose, **params))

    def list(self, **params: Unpack[FileListParams]) -> SyncPage[FileObject]:
        return self._call(self._async.list(**params))

    def retrieve(self, file_id: str, **params: Unpack[RequestOptionsParams]) -> FileObject:
        return self._call(self._async.retrieve(file_id, **params))

    def delete(self, file_id: str, **params: Unpack[RequestOptionsParams]) -> FileDeleted:
        return self._call(self._async.delete(file_id, **params))

    def content(self, file_id: str, **params: Unpack[RequestOptionsParams]) -> bytes:
        return self._call(self._async.content(file_id, **params))

    @property
    def with_raw_response(self) -> FilesWithRawResponse:
        return FilesWithRawResponse(self)


class FilesWithRawResponse(RawView[Files]):
    def create(self, *, file: FileInput, purpose: FilePurpose | str,
               **params: Unpack[RequestOptionsParams]) -> APIResponse[FileObject]:
        return sync_raw(self._resource.create)(file=file, purpose=purpose, **params)

    def list(self, **params: Unpack[FileListParams]) -> APIResponse[SyncPage[FileObject]]:
        return sync_raw(self._resource.list)(**params)

    def retrieve(self, file_id: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[FileObject]:
        return sync_raw(self._resource.retrieve)(file_id, **params)

    def delete(self, file_id: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[FileDeleted]:
        return sync_raw(self._resource.delete)(file_id, **params)

    def content(self, file_id: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[bytes]:
        return sync_raw(self._resource.content)(file_id, **params)
