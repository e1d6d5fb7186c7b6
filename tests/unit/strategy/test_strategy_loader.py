"""load_strategy / list_strategies: user directories, errors naming files and lines, built-ins."""

from __future__ import annotations

import json
import logging
import re
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from tradecast.core.errors import ConfigError
from tradecast.strategy import IStrategy, list_strategies, load_strategy

STRATEGY = '''
from tradecast.strategy import IStrategy, IntParameter


class {name}(IStrategy):
    timeframe = "15m"
    buy_rsi = IntParameter(10, 60, default=30)

    def populate_indicators(self, dataframe, metadata):
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        return dataframe
'''


def write(directory: Path, filename: str, text: str) -> Path:
    path = directory / filename
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def strategy_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "strats"
    directory.mkdir()
    write(directory, "alpha.py", STRATEGY.format(name="AlphaStrategy"))
    write(directory, "beta.py", STRATEGY.format(name="BetaStrategy") + STRATEGY.format(name="GammaStrategy"))
    return directory


def test_load_by_class_name_from_a_path(strategy_dir):
    strategy = load_strategy("GammaStrategy", {}, strategy_path=strategy_dir)
    assert isinstance(strategy, IStrategy)
    assert type(strategy).__name__ == "GammaStrategy" and strategy.timeframe == "15m"


def test_path_comes_from_config_strategy_path_or_user_data_dir(strategy_dir, tmp_path):
    config = SimpleNamespace(strategy_path=str(strategy_dir))
    assert load_strategy("AlphaStrategy", config).name == "AlphaStrategy"
    user_data = tmp_path / "ud"
    (user_data / "strategies").mkdir(parents=True)
    write(user_data / "strategies", "mine.py", STRATEGY.format(name="MineStrategy"))
    assert load_strategy("MineStrategy", {"user_data_dir": str(user_data)}).name == "MineStrategy"


def test_each_load_is_an_isolated_fresh_instance(strategy_dir):
    first = load_strategy("AlphaStrategy", {}, strategy_path=strategy_dir)
    second = load_strategy("AlphaStrategy", {}, strategy_path=strategy_dir)
    first.buy_rsi.value = 50
    assert second.buy_rsi.value == 30
    assert type(first).__module__ != type(second).__module__


def test_missing_strategy_lists_available_names(strategy_dir):
    with pytest.raises(ConfigError) as info:
        load_strategy("NopeStrategy", {}, strategy_path=strategy_dir)
    message = str(info.value)
    assert "'NopeStrategy' not found" in message
    available = message.split("available: ", 1)[1].split(", ")
    assert available == sorted(available)
    assert {"AlphaStrategy", "BetaStrategy", "GammaStrategy", "ProducerStrategy"} <= set(available)


def test_missing_directory_is_mentioned(tmp_path):
    with pytest.raises(ConfigError, match=r"does not exist.*available: .*ProducerStrategy"):
        load_strategy("NopeStrategy", {}, strategy_path=tmp_path / "absent")


def test_syntax_error_in_the_wanted_file_names_file_and_line(strategy_dir):
    broken = write(strategy_dir, "broken.py", "import os\n\nclass BrokenStrategy(IStrategy)\n    pass\n")
    with pytest.raises(ConfigError, match=f"syntax error in {re.escape(str(broken))} line 3: "):
        load_strategy("BrokenStrategy", {}, strategy_path=strategy_dir)


def test_broken_other_file_only_warns(strategy_dir, caplog):
    broken = write(strategy_dir, "broken.py", "x = (\n")
    with caplog.at_level(logging.WARNING, logger="tradecast.strategy.loader"):
        strategy = load_strategy("AlphaStrategy", {}, strategy_path=strategy_dir)
    assert strategy.name == "AlphaStrategy"
    assert f"{broken} line 1" in caplog.text
    with pytest.raises(ConfigError, match=f"files with syntax errors: {re.escape(str(broken))} line 1"):
        load_strategy("NopeStrategy", {}, strategy_path=strategy_dir)


def test_import_error_names_file_and_line(strategy_dir):
    path = write(strategy_dir, "fails.py", STRATEGY.format(name="FailsStrategy") + "\nundefined_name + 1\n")
    line = path.read_text().splitlines().index("undefined_name + 1") + 1
    with pytest.raises(ConfigError, match=f"{re.escape(str(path))} line {line} failed to import: NameError"):
        load_strategy("FailsStrategy", {}, strategy_path=strategy_dir)


def test_builtin_is_found_without_any_path(tmp_path):
    strategy = load_strategy("ProducerStrategy", {"user_data_dir": str(tmp_path / "nowhere")})
    assert strategy.name == "ProducerStrategy" and strategy.timeframe == "5m"


def test_user_file_shadows_a_builtin(strategy_dir):
    write(strategy_dir, "mine.py", STRATEGY.format(name="ProducerStrategy"))
    assert load_strategy("ProducerStrategy", {}, strategy_path=strategy_dir).timeframe == "15m"


def test_invalid_strategy_is_a_config_error(strategy_dir):
    write(strategy_dir, "bad.py", STRATEGY.format(name="BadStrategy").replace("timeframe = \"15m\"",
                                                                              "stoploss = 0.5"))
    with pytest.raises(ConfigError, match="strategy BadStrategy: stoploss"):
        load_strategy("BadStrategy", {}, strategy_path=strategy_dir)


def test_parameter_file_beside_the_strategy_is_loaded(strategy_dir):
    params = {"strategy_name": "AlphaStrategy", "params": {"buy": {"buy_rsi": 44}}}
    (strategy_dir / "alpha.json").write_text(json.dumps(params), encoding="utf-8")
    assert load_strategy("AlphaStrategy", {}, strategy_path=strategy_dir).buy_rsi.value == 44
    overridden = load_strategy("AlphaStrategy", {"strategy_parameters": {"buy_rsi": 12}}, strategy_dir)
    assert overridden.buy_rsi.value == 12


def test_list_strategies_from_path_or_config(strategy_dir):
    names = [name for name, _ in list_strategies(strategy_dir)]
    assert names[:3] == ["AlphaStrategy", "BetaStrategy", "GammaStrategy"]  # user files first, then built-ins
    assert "ProducerStrategy" in names[3:]
    files = dict(list_strategies({"strategy_path": str(strategy_dir)}))
    assert files["BetaStrategy"] == str(strategy_dir / "beta.py")
    assert files["ProducerStrategy"].endswith("builtin/producer.py")


def test_a_class_not_written_as_class_statement_is_still_found(strategy_dir):
    text = STRATEGY.format(name="Impl") + "\nAliased = type('AliasedStrategy', (Impl,), {})\n"
    write(strategy_dir, "alias.py", text)
    assert load_strategy("AliasedStrategy", {}, strategy_path=strategy_dir).name == "AliasedStrategy"
