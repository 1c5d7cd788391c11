"""The README stays true: its Python blocks run and print what their comments say, and every
CLI option it mentions exists on that subcommand's parser (and every option is mentioned)."""
import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gradstudio import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
FENCED = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
COMMAND = re.compile(r"(?:^|\s)(?:python -m )?gradstudio(?:\s+(run|debug|shot|export|import)\b|\s|$)")
OPTION = re.compile(r"(?<![\w-])(--?[a-z][a-z-]*)")


def python_blocks() -> list[str]:
    return [body for lang, body in FENCED.findall(README) if lang == "python"]


def parser_options() -> dict[str | None, set[str]]:
    """Option strings per subcommand; None is the editor's `gradstudio [FILE]`."""
    parser = cli._sub_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    options = {name: {s for a in sub._actions for s in a.option_strings}
               for name, sub in subs.choices.items()}
    options[None] = {s for a in cli._editor_parser()._actions for s in a.option_strings}
    return options


def mentioned_options() -> list[tuple[str | None, str, str]]:
    """(subcommand, option, line) for each option written after a `gradstudio ...` command:
    in code blocks, up to the next command or the block's end; in inline code, in the span."""
    found = []
    for _, body in FENCED.findall(README):
        current = False                       # no gradstudio command seen in this block yet
        for line in body.splitlines():
            match = COMMAND.search(line)
            if match:
                current = match.group(1)
                line = line[match.end():]
            if current is not False:
                found += [(current, opt, line) for opt in OPTION.findall(line)]
    for span in re.findall(r"`([^`\n]+)`", README):
        match = COMMAND.search(span)
        if match:
            found += [(match.group(1), opt, span) for opt in OPTION.findall(span[match.end():])]
    return found


@pytest.mark.parametrize("code", python_blocks(), ids=lambda code: code.splitlines()[0])
def test_python_blocks_run_and_print_what_their_comments_say(code):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    for line in code.splitlines():
        comment = re.match(r"\s*print\(.*\)\s+# (.+)$", line)
        if comment:
            expected = comment.group(1).split(",")[0].split(" at 0x")[0].strip()
            assert expected in result.stdout, f"{line.strip()!r} printed:\n{result.stdout}"


def test_there_are_python_blocks_and_cli_options_to_check():
    assert len(python_blocks()) >= 2
    assert {sub for sub, _, _ in mentioned_options()} >= {"run", "debug", "shot", "export"}


def test_every_cli_option_the_readme_mentions_exists():
    options = parser_options()
    wrong = [f"gradstudio {sub or ''} {opt}  (in: {line.strip()})"
             for sub, opt, line in mentioned_options() if opt not in options[sub]]
    assert not wrong, "\n".join(wrong)


def test_every_subcommand_and_option_is_in_the_readme():
    mentioned = {(sub, opt) for sub, opt, _ in mentioned_options()}
    for sub in cli.SUBCOMMANDS:
        assert f"gradstudio {sub} FILE" in README
        missing = {opt for opt in parser_options()[sub] - {"-h", "--help"}
                   if (sub, opt) not in mentioned}
        # an option counts when either its short or long spelling is mentioned
        missing = {opt for opt in missing if not any(
            (sub, other) in mentioned for other in _spellings(sub, opt))}
        assert not missing, f"gradstudio {sub}: {sorted(missing)} not in the README"


def _spellings(sub: str, option: str) -> list[str]:
    parser = cli._sub_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return next(a.option_strings for a in subs.choices[sub]._actions
                if option in a.option_strings)


SHORTCUT = re.compile(r"^(?:(?:Ctrl|Shift|Alt)\+)*(?:F\d*|[A-Z]|\+|-|Del|Backspace)$")


def readme_shortcuts() -> set[str]:
    """The key sequences in the first column of the README's shortcut tables (canvas
    gestures such as "Tab" or "middle drag" are not QAction shortcuts and are left out)."""
    keys = set()
    for row in re.findall(r"^\| ([^|]+) \|", README, re.M):
        for key in re.split(r",\s*|\s+/\s+", row.strip()):
            if SHORTCUT.match(key):
                keys.add(key)
    return keys


def test_shortcut_tables_match_the_windows_actions(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from gradstudio.ui.main_window import MainWindow

    window = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    qtbot.addWidget(window)
    actual = {k.toString() for a in window.actions() for k in a.shortcuts()} - {""}
    assert "F10" in actual and "F5" in actual
    listed = readme_shortcuts()
    assert sorted(listed - actual) == [], "README lists shortcuts no action has"
    assert sorted(actual - listed) == [], "actions whose shortcuts the README leaves out"
