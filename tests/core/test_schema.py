"""The one config builder: strict types, and one message format naming the file and the dotted key."""

import dataclasses
import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retinavlm.errors import ConfigError, RetinaVLMError
from retinavlm.schema import from_dict, load, to_dict


@dataclass
class Optimizer:
    name: Literal["adamw", "sgd"] = "adamw"
    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])


@dataclass
class Train:
    optimizer: Optimizer = field(default_factory=Optimizer)
    max_steps: int | None = None
    scale: dict[str, float] = field(default_factory=dict)


@dataclass
class Stage:
    name: str
    train: Train = field(default_factory=Train)
    steps: list[Optimizer] = field(default_factory=list)
    source: str = field(default="", metadata={"internal": True})


@dataclass
class Checked:
    low: int = 0
    high: int = 1

    def __post_init__(self):
        if self.low > self.high:
            raise ConfigError(f"must not exceed high ({self.high}), got {self.low}", "low")


@dataclass
class Outer:
    checked: Checked = field(default_factory=Checked)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"name": "s", "train": {"optimizer": {"lr": "abc"}}},
            "s.yaml: train.optimizer.lr: expected a number, got 'abc'",
        ),
        ({"name": "s", "train": {"optimiser": {}}}, "s.yaml: train.optimiser: unknown key; allowed here: optimizer, "),
        ({"name": "s", "train": {"max_steps": 1.5}}, "s.yaml: train.max_steps: expected an integer, got 1.5"),
        ({"name": "s", "train": {"max_steps": True}}, "s.yaml: train.max_steps: expected an integer, got true"),
        ({"name": "s", "train": {"optimizer": {"name": "adam"}}}, "s.yaml: train.optimizer.name: 'adam' is not one of"),
        (
            {"name": "s", "train": {"optimizer": {"betas": [0.9, "x"]}}},
            "s.yaml: train.optimizer.betas[1]: expected a number",
        ),
        (
            {"name": "s", "train": {"scale": {"encoder": None}}},
            "s.yaml: train.scale.encoder: expected a number, got null",
        ),
        ({"name": "s", "train": []}, "s.yaml: train: expected a mapping, got a list"),
        ({"name": "s", "steps": [{}, {"lr": []}]}, "s.yaml: steps[1].lr: expected a number, got a list"),
        ({"name": 3}, "s.yaml: name: expected a string, got 3"),
        ({}, "s.yaml: name: required key is missing"),
        ({"name": "s", "source": "x"}, "s.yaml: source: unknown key"),
        ([1], "s.yaml: expected a mapping, got a list"),
    ],
)
def test_bad_values_name_the_file_and_the_dotted_key(data, message):
    with pytest.raises(ConfigError) as caught:
        from_dict(Stage, data, "s.yaml")
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, RetinaVLMError) and "\n" not in str(caught.value)


def test_a_dataclass_own_check_is_named_from_where_it_sits():
    with pytest.raises(ConfigError, match=r"^o\.yaml: checked\.low: must not exceed high \(1\), got 2$"):
        from_dict(Outer, {"checked": {"low": 2}}, "o.yaml")


def test_ints_become_floats_and_internal_fields_stay_out():
    stage = from_dict(Stage, {"name": "s", "train": {"optimizer": {"lr": 1}, "scale": {"1": 2}}})
    assert stage.train.optimizer.lr == 1.0 and isinstance(stage.train.optimizer.lr, float)
    assert stage.train.scale == {"1": 2.0}
    assert "source" not in to_dict(stage)


def test_load_names_the_file(tmp_path):
    path = tmp_path / "stage.yaml"
    path.write_text("name: s\ntrain: {max_steps: lots}\n")
    with pytest.raises(ConfigError, match=r"stage\.yaml: train\.max_steps: expected an integer, got 'lots'"):
        load(Stage, path)
    with pytest.raises(ConfigError, match=r"nothere\.yaml: config file not found"):
        load(Stage, tmp_path / "nothere.yaml")


def test_an_unsupported_field_type_is_a_bug_not_bad_input():
    @dataclass
    class Odd:
        when: complex = 0j

    with pytest.raises(TypeError):
        from_dict(Odd, {"when": 1})


# Random schemas: nested dataclasses of leaves, optionals, literals, lists and mappings.
LEAVES = {
    int: st.integers(),
    float: st.floats(allow_nan=False),
    str: st.text(max_size=8),
    bool: st.booleans(),
    Literal["a", "b"]: st.sampled_from(["a", "b"]),
    Any: st.one_of(st.integers(), st.text(max_size=4), st.none()),
}
names = (f"D{i}" for i in itertools.count())


def _schema(children):
    """A (type hint, value strategy) pair one level above `children`."""
    return st.one_of(
        children.map(lambda c: (list[c[0]], st.lists(c[1], max_size=3))),
        children.map(lambda c: (dict[str, c[0]], st.dictionaries(st.text(max_size=5), c[1], max_size=3))),
        children.map(lambda c: (c[0] | None, st.none() | c[1])),
        st.lists(children, min_size=1, max_size=4).map(_dataclass),
    )


def _dataclass(members):
    fields = [(f"f{i}", hint) for i, (hint, _) in enumerate(members)]
    cls = dataclasses.make_dataclass(next(names), fields)
    return cls, st.builds(cls, *(values for _, values in members))


schemas = st.recursive(st.sampled_from([(hint, values) for hint, values in LEAVES.items()]), _schema, max_leaves=8)
dataclass_schemas = st.lists(schemas, min_size=1, max_size=4).map(_dataclass)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), schema=dataclass_schemas)
def test_any_value_survives_to_dict_and_back(data, schema):
    cls, values = schema
    value = data.draw(values)
    assert from_dict(cls, to_dict(value)) == value


@settings(max_examples=100, deadline=None)
@given(data=st.data(), schema=dataclass_schemas, key=st.text("xyz_", min_size=1, max_size=6))
def test_an_unknown_key_anywhere_is_named_by_its_dotted_path(data, schema, key):
    cls, values = schema
    doc = to_dict(data.draw(values))
    path, node = [], doc
    while True:  # walk into a random nested mapping that is a dataclass's
        inner = [k for k, v in node.items() if isinstance(v, dict) and k.startswith("f") and k[1:].isdigit()]
        inner = [k for k in inner if _is_dataclass_at(cls, [*path, k])]
        if not inner or not data.draw(st.booleans()):
            break
        path.append(data.draw(st.sampled_from(inner)))
        node = node[path[-1]]
    node[key] = 1
    with pytest.raises(ConfigError) as caught:
        from_dict(cls, doc, "r.yaml")
    assert str(caught.value).startswith(f"r.yaml: {'.'.join([*path, key])}: unknown key; allowed here: ")


def _is_dataclass_at(cls, path):
    hint = cls
    for name in path:
        hint = {f.name: f.type for f in dataclasses.fields(hint)}[name]
        if not dataclasses.is_dataclass(hint):
            return False
    return True


@dataclass
class Criterion:
    points: int = 1


@dataclass
class Either:
    rule: str | list[Criterion] = "none"
    spec: str | Criterion = "none"


def test_a_union_reports_the_nested_error_of_the_option_the_value_fits():
    assert from_dict(Either, {"rule": [{"points": 2}], "spec": {}}) == Either([Criterion(2)], Criterion())
    with pytest.raises(ConfigError, match=r"^e\.yaml: rule\[0\]\.points: expected an integer, got 'x'$"):
        from_dict(Either, {"rule": [{"points": "x"}]}, "e.yaml")
    with pytest.raises(ConfigError, match=r"^e\.yaml: spec\.point: unknown key"):
        from_dict(Either, {"spec": {"point": 1}}, "e.yaml")
    with pytest.raises(ConfigError, match=r"^e\.yaml: spec: expected a string or a mapping, got 3$"):
        from_dict(Either, {"spec": 3}, "e.yaml")


def test_errors_are_raised_as_the_callers_subclass():
    class StageFileError(ConfigError):
        pass

    with pytest.raises(StageFileError, match=r"s\.yaml: checked\.low: must not exceed high"):
        from_dict(Outer, {"checked": {"low": 2}}, "s.yaml", StageFileError)
    with pytest.raises(StageFileError, match=r"s\.yaml: name: required key is missing"):
        from_dict(Stage, {}, "s.yaml", StageFileError)
