"""`charlm explore` on loopback: each panel through the page's own API (gradio_client), and what the
page answers to bad input. The browser's view of it: test_browser.py;
the Write and How sure panels: test_writing.py; Inside the LSTM and Training: test_inside.py."""

from __future__ import annotations

import http.client
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from charlm.text.splits import load_vocab

PROMPT = "KING:\n"


@pytest.fixture(scope="module")
def client(explorer_page: str):
    return Client(explorer_page, verbose=False)


@pytest.fixture
def run(trained_run: Path) -> Path:
    return trained_run / "run/checkpoints/best.ckpt"


def write(client: Client, prompt: str = PROMPT, temperature: float = 0.8, top_k: int = 0, top_p: float = 1.0,
          length: int = 300, seed: int | str = 1, drop: bool = False) -> list[tuple[str, str]]:
    """Every streamed update of the Write panel: (prompt as the model read it + text so far, text so far);
    AppError if the page answered with a message."""
    job = client.submit(prompt, temperature, top_k, top_p, length, str(seed), drop, api_name="/write")
    updates = [(drawn["prompt"] + drawn["text"], drawn["text"]) for _, _, drawn in job]
    job.result()  # raises the page's message, if any
    return updates


def drawn(client: Client, **controls) -> dict:
    """The record of how the last text of `write` was drawn."""
    job = client.submit(*write_args(**controls), api_name="/write")
    return job.result()[2]


def write_args(prompt: str = PROMPT, temperature: float = 0.8, top_k: int = 0, top_p: float = 1.0,
               length: int = 300, seed: int | str = 1, drop: bool = False) -> tuple:
    return prompt, temperature, top_k, top_p, length, str(seed), drop


def test_writing_streams_and_repeats_with_its_seed(client):
    updates = write(client)
    assert len(updates) >= 4  # 300 characters arrive in pieces, not at the end only
    assert [len(text) for _, text in updates] == sorted(len(text) for _, text in updates)
    shown, text = updates[-1]
    assert len(text) == 300 and shown == PROMPT + text
    assert write(client)[-1] == updates[-1]  # the same seed, the same text
    assert write(client, seed=2)[-1] != updates[-1]


def test_top_k_1_is_greedy(client):
    assert write(client, top_k=1, length=100)[-1] == write(client, temperature=0, length=100)[-1]


def test_the_sweep_answers_as_the_sample_stage_does(client):
    """Texts per temperature, a row each (the grid and any refined between), the sentence, the texts."""
    sentence, plot, table, texts = client.predict(PROMPT, "0.1, 1, 3", 4, 200, 0, False, api_name="/sweep")
    ts = [row[0] for row in table["data"]]
    assert {0.1, 1.0, 3.0} <= set(ts) and ts == sorted(ts)
    assert all(row[2] is None or 0 <= row[2] <= 1 for row in table["data"])  # no words: no share
    assert sentence.startswith(("Words stop being recognisable from T ≈", "No crossing in the grid"))
    assert texts.count("<details") == len(ts) and texts.count('class="prompt"') == 3 * len(ts)
    assert plot is not None


@pytest.mark.parametrize("temperatures, length", [("1", 1), ("1, 2", 5), ("0", 1)])
def test_a_sweep_whose_texts_may_have_no_word_to_score_answers(client, temperatures, length):
    """One character per text: no word to score; five: perhaps one. Either way an answer, not an error."""
    sentence, _, _, texts = client.predict(PROMPT, temperatures, 2, length, 0, False, api_name="/sweep")
    assert sentence and texts.count("<details") == len(temperatures.split(","))
    assert length > 1 or "no words to score" in texts


@pytest.mark.parametrize("call, message", [
    (lambda c: write(c, prompt="KING §:"),
     "not in the vocabulary: '§' (remove them, or tick 'drop characters"),
    (lambda c: write(c, temperature=9), "Value 9 is greater than maximum value 5"),
    (lambda c: write(c, length=100_000), "Value 100000 is greater than maximum value 2000"),
    (lambda c: write(c, top_p=0), "Value 0 is less than minimum value 0.05"),
    (lambda c: c.predict(PROMPT, "0.5, hot", 2, 100, 0, False, api_name="/sweep"),
     "temperatures must be numbers"),
    (lambda c: c.predict(None, api_name="/sure"), "nothing written yet"),
    (lambda c: c.predict("x", 99, 0, api_name="/cell"), "layer must be from 1 to 1, got '99'"),
], ids=["unknown-character", "temperature", "length", "top-p", "sweep", "nothing-written", "layer"])
def test_bad_input_is_a_message_and_the_next_request_works(client, call, message):
    with pytest.raises(AppError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(client)
    assert len(write(client, length=20)[-1][1]) == 20


@pytest.mark.parametrize("call, message", [
    (lambda c: c.predict("the king", 61, PROMPT, 0.8, "3", api_name="/adapt"),
     "seconds must be from 1 to 60, got '61'"),
    (lambda c: c.predict("the king", 5, PROMPT, -1, "3", api_name="/adapt"),
     "temperature must be from 0 to 2, got '-1'"),
    (lambda c: c.predict("the king", "soon", PROMPT, 0.8, "3", api_name="/adapt"),
     "seconds must be from 1 to 60, got 'soon'"),
    (lambda c: c.predict(PROMPT, "1", 21, 100, 0, False, api_name="/sweep"),
     "texts per temperature must be from 1 to 20, got '21'"),
    (lambda c: c.predict(PROMPT, "1", 2, 5000, 0, False, api_name="/sweep"),
     "characters per text must be from 1 to 1000, got '5000'"),
], ids=["adapt-seconds", "adapt-temperature", "adapt-seconds-text", "sweep-count", "sweep-length"])
def test_a_slider_s_range_holds_through_the_api_without_a_traceback(client, capfd, call, message):
    """The API takes any number: out of a slider's range it is a message, and the server's log stays clean."""
    capfd.readouterr()
    with pytest.raises(AppError, match=message):
        call(client)
    assert "Traceback" not in capfd.readouterr().err


def test_unknown_characters_can_be_dropped(client):
    assert write(client, prompt="KING §:\n", length=20, drop=True)[-1][0].startswith("KING :\n")


@pytest.mark.parametrize("args, message", [
    (["--checkpoint", "nowhere.ckpt"], "error: nowhere.ckpt not found: train a model first"),
    (["--checkpoint", "."], "error: . is a directory, not a checkpoint"),
], ids=["missing", "folder"])
def test_a_missing_checkpoint_is_one_line_before_any_server(tmp_path, args, message):
    result = subprocess.run([sys.executable, "-m", "charlm", "explore", *args], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_a_port_in_use_is_one_line(run, client):
    port = client.src.rstrip("/").rsplit(":", 1)[1]
    root = run.parents[2]
    command = ["explore", "--port", port, "--checkpoint", str(run), "--data", str(root / "prepared")]
    result = subprocess.run([sys.executable, "-m", "charlm", *command], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: the port is in use, or not"
                                    " allowed to this user (pass another --port)"), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert load_vocab(root / "prepared")  # the first server still answers: the next test uses it


def test_two_visitors_at_once_both_get_their_text(explorer_page):
    """Two tabs writing at the same time: the queue serves both, each its own text."""
    first, second = Client(explorer_page, verbose=False), Client(explorer_page, verbose=False)
    jobs = [c.submit(*write_args(length=600, seed=seed), api_name="/write")
            for c, seed in ((first, 1), (second, 2))]
    texts = [job.result()[2]["text"] for job in jobs]
    assert [len(t) for t in texts] == [600, 600] and texts[0] != texts[1]


@pytest.mark.parametrize("call, message", [
    (lambda c: write(c, prompt="K" * 2001), "prompt is 2,001 characters: at most 2,000 here"),
    (lambda c: write(c, prompt=None), "prompt must be a text, got NoneType"),
    (lambda c: c.predict({"prompt": PROMPT, "text": "x" * 2001, "temperature": 1.0, "top_k": 0, "top_p": 1.0,
                          "seed": 0}, api_name="/sure"), "text is 2,001 characters"),
    (lambda c: c.predict("x" * 10_001, 1, 0, api_name="/cell"), "text is 10,001 characters"),
    (lambda c: c.predict(PROMPT, "0.5," * 100, 2, 100, 0, False, api_name="/sweep"), "temperatures is 400"),
], ids=["long-prompt", "null-prompt", "long-text", "long-cell-text", "long-temperatures"])
def test_every_text_is_bounded_on_the_server(client, call, message):
    """Security: the page's length limits hold for a client that ignores them (the API takes any JSON)."""
    with pytest.raises(AppError, match=message):
        call(client)
    assert len(write(client, length=20)[-1][1]) == 20


def test_no_share_link_whatever_the_environment_says(run, monkeypatch):
    """Security: GRADIO_SHARE=True would open a public tunnel to the page."""
    from charlm.app.page import serve

    monkeypatch.setenv("GRADIO_SHARE", "True")
    blocks = serve(run, None, run.parents[2] / "prepared", run.parents[2] / "dvclive", block=False)
    try:
        assert blocks.share is False and blocks.share_url is None
        assert blocks.local_url.startswith("http://127.0.0.1:")
    finally:
        blocks.close()


def answer(page: str, method: str = "GET", path: str = "/", headers: dict[str, str] | None = None,
           body: bytes | None = None) -> tuple[int, str]:
    """The page's status and body for one raw request over loopback."""
    address = urllib.parse.urlsplit(page)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


@pytest.mark.parametrize("method, path, headers, body, status, message", [
    ("GET", "/", {"Host": "attacker.example"}, None, 421, "127.0.0.1 or localhost only"),
    ("GET", "/", {"Host": "attacker.example:7860"}, None, 421, "127.0.0.1 or localhost only"),
    ("POST", "/gradio_api/queue/join", {"Origin": "http://attacker.example"}, b"{}", 403,
     "its own page only"),
    ("POST", "/gradio_api/upload", {"Content-Type": "application/octet-stream"}, b"x" * 1000, 403,
     "takes no uploads"),
    ("POST", "/gradio_api/queue/join", {"Content-Type": "application/json"}, b" " * (300 * 1024), 413,
     "limited to 262,144 bytes"),
], ids=["foreign-host", "foreign-host-port", "foreign-origin", "upload", "huge-body"])
def test_the_page_answers_its_own_page_on_loopback_only(explorer_page, method, path, headers, body, status,
                                                        message):
    """Security: DNS rebinding (a foreign Host), another site's page (Origin), uploads and huge bodies
    are refused before Gradio reads them; the page itself still answers."""
    got, text = answer(explorer_page, method, path, headers, body)
    assert got == status and message in text
    assert answer(explorer_page)[0] == 200
    assert answer(explorer_page, headers={"Host": "localhost"})[0] == 200



def test_adapt_reads_a_pasted_text_and_writes_before_and_after(client):
    text = "the king is dead, long live the queen.\n" * 50
    summary, before, after = client.predict(text, 10, PROMPT, 0.8, "3", api_name="/adapt")
    assert summary.startswith("Read 1,754 characters in")  # the last 195 (a tenth) only scored
    assert "| nats per character | **" in summary and "bits per character" in summary
    assert PROMPT.strip() in before and before != after


