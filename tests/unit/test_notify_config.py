"""Event destinations in the configuration: [notify.<kind>.<name>] tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from dolium.backends.reporter_memory import MemoryReporter
from dolium.backends.reporter_webhook import WebhookReporter
from dolium.config_load import load_config
from dolium.errors import ConfigError
from dolium.plugins import open_reporters


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dolium.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n' + text)
    return path


async def test_reporters_open_by_arn_with_a_default_outbox(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[notify.webhook.orders]\nurl = "http://127.0.0.1:1/hook"\n[notify.memory.test]\n',
        )
    )
    assert config.notify["webhook"]["orders"]["outbox"] == str(tmp_path / "data/outbox/orders")
    reporters = await open_reporters(config)
    try:
        assert set(reporters) == {"arn:dolium:webhook::orders", "arn:dolium:memory::test"}
        assert isinstance(reporters["arn:dolium:webhook::orders"], WebhookReporter)
        assert isinstance(reporters["arn:dolium:memory::test"], MemoryReporter)
        assert (tmp_path / "data/outbox/orders").is_dir()
    finally:
        for reporter in reporters.values():
            await reporter.close()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[notify.pigeon.a]\n", "config notify.pigeon: unknown store 'pigeon'"),
        (
            '[notify.webhook.a]\nurl = "http://x/"\nurll = 1\n',
            "config notify.webhook.a.urll: unknown option",
        ),
        ("[notify.webhook.a]\n", "config notify.webhook.a: option 'url' is required"),
        ('[notify.webhook.a]\nurl = "ftp://x/"\n', "config notify.webhook.a: webhook url"),
        (
            '[notify.webhook.a]\nurl = "http://x/"\ntimeout = "x"\n',
            "config notify.webhook.a: webhook timeout: 'x' is not a number",
        ),
    ],
)
async def test_bad_destinations_are_one_line_errors(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        await open_reporters(load_config(write(tmp_path, text)))
    assert caught.value.message.startswith(message)


def test_bad_destination_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="notify"):
        load_config(write(tmp_path, '[notify.webhook."../x"]\nurl = "http://x/"\n'))
