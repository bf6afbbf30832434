"""Every command's --help, read as a new user reads it: what each option does, its
default and units, and claims that agree with the README and the docs."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main
from typer.testing import CliRunner

from labelmend.cli._console import METHOD_HELP
from labelmend.cli.app import app
from tests.cli.test_flag_names import _commands

README = (Path(__file__).parents[2] / "README.md").read_text()


def options():
    """(command path, option) of every option of every command."""
    for path, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                yield " ".join(path), param


def test_the_ranking_order_help_says_what_the_readme_measured():
    """It said posterior finds at least as many errors as cleanlab's best "on every
    real-noise set" (the README: 8 of the 10) and that errors_per_annotation is "the
    default of score, fit and round" (fit ranks nothing: it has no --method)."""
    rows = [line for line in README.splitlines() if re.search(r"\| [✓✗]{5} \|$", line)]
    met = sum(row.rsplit("|", 2)[1].strip()[1] == "✓" for row in rows)  # rank's target
    claim = f"on {met} of the {len(rows)} full-truth sets"
    assert claim in README.replace("\n", " ")
    assert claim in METHOD_HELP
    defaults = {path: option.default for path, option in options() if option.help == METHOD_HELP}
    queues = [path for path, default in defaults.items() if default == "errors_per_annotation"]
    assert (len(defaults), sorted(queues)) == (3, ["round", "score"])
    assert f"(the default of {' and '.join(sorted(queues))})" in METHOD_HELP
    assert defaults["rank"] == "posterior"


def test_repair_choices_are_listed_and_a_typo_is_a_usage_error_before_anything_loads():
    """repair run's --method and --unlearn-method and analyze's --embedding took any text:
    --help listed no choices ("Identification method.") and a typo was found after torch
    and the files loaded (8 s), exit 1. The choices are the library's registries."""
    from typing import get_args

    from labelmend.cli import repair as cli
    from labelmend.repair.failures import EMBEDDINGS
    from labelmend.repair.identify import HARM_METHODS
    from labelmend.repair.unlearning import UNLEARN_METHODS

    registries = {
        ("repair run", "method"): HARM_METHODS,
        ("repair analyze", "embedding"): EMBEDDINGS,
        ("repair run", "unlearn_method"): UNLEARN_METHODS,
    }
    found = {(path, option.name): option for path, option in options()}
    for key, registry in registries.items():
        assert get_args(found[key].type_descriptor.annotation) == tuple(registry), key
    assert get_args(cli.HarmMethodName) == tuple(HARM_METHODS)
    runner = CliRunner()
    for args in (["run", "--method", "lossy"], ["analyze", "--embedding", "gradient"]):
        result = runner.invoke(app, ["repair", *args, "--train-features", "x.npy"])
        assert result.exit_code == 2, result.output
        assert "Invalid value for" in result.output


#: Words by which an option's help says what happens when it is left out.
WITHOUT_IT = re.compile(r"\(default|default:|optional|required|^With --|both or neither", re.I)


def test_every_option_without_a_default_says_what_happens_without_it():
    """An option whose default is None shows no '[default: …]'; its help must say what
    leaving it out does. 28 did not ('Number of samples.', 'Why.', 'Test features.',
    'Dask scheduler address; local processes if absent.' …)."""
    silent = [
        f"{path} {option.opts[0]}: {option.help}"
        for path, option in options()
        if option.default is None
        and not option.required
        and not option.is_flag
        and not WITHOUT_IT.search(option.help or "")
    ]
    assert silent == []


def test_numbers_say_their_units_and_range():
    """demo --noise-rate said 'Labels flipped.' (a share? a count?); simulate's
    --noise-rate 'at this rate', and --max-reviews 0 was the library's error, exit 1."""
    found = {(path, option.name): option for path, option in options()}
    for key in [("demo", "noise_rate"), ("simulate", "noise_rate")]:
        assert "share of the labels" in found[key].help, key
    assert found[("simulate", "max_reviews")].min == 1
    # The command list said "Create, list, show, export relabel queues.": no delete.
    assert "delete" in typer.main.get_command(app).entries["queue"].help


def test_the_difficulty_help_says_what_it_changes_and_it_does_not_change_the_order():
    """--difficulty said 'Difficulty score.': not what it changes. It is a label-blind
    column and the 'ambiguous' reason; the order (and p_error) is the same either way."""
    from labelmend.cleaner import rank_samples
    from tests.synthetic import noisy_problem

    given, probs, _ = noisy_problem(300, 3, noise=0.2)
    for method in ("posterior", "errors_per_annotation"):
        entropy = rank_samples(given, probs, method=method, difficulty="entropy")
        margin = rank_samples(given, probs, method=method, difficulty="margin")
        assert entropy["sample_id"].tolist() == margin["sample_id"].tolist()
        assert entropy["difficulty"].tolist() != margin["difficulty"].tolist()
    helps = {path: option.help for path, option in options() if option.name == "difficulty"}
    assert sorted(helps) == ["rank", "round", "score"]
    for help_text in helps.values():
        assert "does not change the order" in help_text
        assert "ambiguous" in help_text
    batches = {path: option.help for path, option in options() if option.opts[0] == "--batch"}
    assert all("samples" in text.lower() for text in batches.values()), batches


def test_the_selectors_help_names_every_selector():
    """simulate --selectors said '(random, oracle, default, methods)': activelab was not
    named and 'methods' not explained."""
    from labelmend.cleaner.scores import RANKING_METHODS
    from labelmend.simulator.selectors import SELECTORS

    [help_text] = [option.help for path, option in options() if option.name == "selectors"]
    named = set(re.findall(r"\w+", help_text))
    unnamed = [name for name in SELECTORS if name not in named and name not in RANKING_METHODS]
    assert unnamed == []
    assert "any --method of rank" in help_text


#: A help text that opens with a list of verbs ("Create, list, show, export and delete
#: relabel queues.", "Set or undo labels"): the group's commands, as its user types them.
VERB_LIST = re.compile(r"^(\w+(?:, \w+)*,? or \w+|\w+(?:, \w+)+,? and \w+)\b")


def test_a_group_that_lists_its_commands_lists_only_real_ones():
    """`labelmend label` was "Set, confirm or undo labels by hand" in `labelmend --help`
    and its own --help; it has no confirm command (set with the same label confirms)."""
    from labelmend.cli.app import Labelmend

    top = typer.main.get_command(app)
    checked = []
    for name in top.list_commands(None):
        group = top.get_command(None, name)
        if not hasattr(group, "list_commands"):
            continue
        for text in (Labelmend.entries[name].help, group.help):
            listed = VERB_LIST.match(text)
            if listed:
                verbs = set(re.split(r",? (?:and|or) |, ", listed.group(1).lower()))
                assert verbs <= set(group.list_commands(None)), (name, text)
                checked.append(name)
    assert {"label", "queue"} <= set(checked)
