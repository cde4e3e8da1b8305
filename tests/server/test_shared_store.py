"""One store, both ways in: a file uploaded from a script (the in-process client) is there for `llmaas serve`
on the same home, and the reverse."""

import openai
import pytest

import llmaas

from .conftest import ServerProcess

TRAIN = b'{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Ahoy!"}]}\n'


def test_files_cross_between_a_script_and_the_server(tmp_path):
    home = tmp_path / "home"
    with llmaas.Client(provider_options={"hf": {"home": str(home)}}) as script:
        mine = script.files.create(file=("train.jsonl", TRAIN), purpose="fine-tune")
        with pytest.raises(llmaas.BadRequestError, match="line 1, message 0 has no role") as err:
            script.files.create(file=("bad.jsonl", b'{"messages": [{"content": "x"}]}'), purpose="fine-tune")
        assert err.value.param == "file"
    server = ServerProcess(home).start()
    try:
        oai = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        assert [f.id for f in oai.files.list()] == [mine.id]
        assert oai.files.content(mine.id).read() == TRAIN
        theirs = oai.files.create(file=("more.jsonl", TRAIN), purpose="fine-tune")
    finally:
        server.stop()
    with llmaas.Client(provider_options={"hf": {"home": str(home)}}) as script:
        assert {f.id for f in script.files.list()} == {mine.id, theirs.id}
        assert script.files.content(theirs.id) == TRAIN
        assert script.files.delete(theirs.id).deleted
        with pytest.raises(llmaas.NotFoundError):
            script.files.retrieve(theirs.id)
