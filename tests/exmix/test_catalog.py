"""ExMix catalog: 107 tasks, Table 11 reconciliation, Table 1 family tags, formatters, plugin wiring."""

import csv
import importlib.metadata as md
import json
from collections import Counter, defaultdict
from pathlib import Path

import mixlab_exmix
import pytest
from mixlab_exmix import FAMILY_CODES, FORMATTERS, collections, entries

import mixlab
from mixlab.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
ROWS = {r["task"]: r["row"] for r in map(json.loads, (FIXTURES / "rows.jsonl").read_text("utf-8").splitlines())}
# GLUE 7->8, DialoGLUE 6->5, TweetEval 8->7: the member lists the paper gives (README, "Reconciliation").
COUNT_CHANGES = {"GLUE": (7, 8), "DialoGLUE": (6, 5), "TweetEval": (8, 7)}


@pytest.fixture(scope="module")
def tasks():
    return {t.name: t for t in mixlab_exmix.tasks()}


@pytest.fixture(scope="module")
def registry(tasks):
    return mixlab.Registry.from_tasks(list(tasks.values()))


def test_exactly_107_tasks_all_in_collection_exmix(tasks):
    assert len(tasks) == 107
    assert {t.collection for t in tasks.values()} == {"exmix"}
    assert all(name.startswith("exmix/") for name in tasks)
    assert {t.version for t in tasks.values()} == {"1.0.0"}
    assert "exmix/glue_mnli" in tasks and "exmix/cnn_dailymail" in tasks
    assert sum(t.num_train for t in tasks.values()) == 18_084_750


def test_table11_counts_and_sizes_match_the_reconciliation(tasks):
    table = {c.name: c for c in collections()}
    assert len(table) == 44
    count, size = Counter(), defaultdict(int)
    for t in tasks.values():
        (t11,) = [tag[4:] for tag in t.tags if tag.startswith("t11:")]
        count[t11] += 1
        size[t11] += t.num_train
    assert set(count) == set(table)
    for name, c in table.items():
        assert (count[name], size[name]) == (c.datasets_used, c.examples_used), name
        assert c.examples_used == c.paper_examples, name  # every collection keeps Table 11's size
        expected = COUNT_CHANGES.get(name, (c.paper_datasets, c.paper_datasets))
        assert (c.paper_datasets, c.datasets_used) == expected, name
    # the paper's rows give 108 data sets / 18,084,750 examples; its total row says 107 / 18,085,040
    assert sum(c.paper_datasets for c in table.values()) == 108
    assert sum(c.datasets_used for c in table.values()) == 107


def test_collections_csv_is_table11_of_the_paper():
    shared = Path("/work/shared/exmix/table11_collections.csv")
    if not shared.exists():
        pytest.skip("shared Table 11 CSV not present")
    paper = {r["collection"]: (int(r["train_datasets"]), int(r["examples"])) for r in csv.DictReader(shared.open())}
    assert {c.name: (c.paper_datasets, c.paper_examples) for c in collections()} == paper


def test_per_task_sizes_of_reconciled_collections(tasks):
    sizes = {name.split("/")[1]: t.num_train for name, t in tasks.items()}
    assert sizes["glue_mnli"] == 392_705 and sizes["superglue_record"] == 139_881
    assert sizes["kilt_trex"] == 2_284_136 and sizes["tweeteval_sentiment"] == 45_449
    assert sizes["dialoglue_sgd"] == 10_636 and sizes["gem_schema_guided_dialog"] == 164_982
    assert [sizes[f"race_{k}"] for k in ("high", "middle", "high_qg", "middle_qg")] == [62_445, 25_421, 17_872, 7_275]
    assert {sizes[n] for n in tasks if n.startswith("exmix/gpt2_detect_") for n in [n.split("/")[1]]} == {62_500}
    assert sizes["samsum"] == 14_372 and sizes["xsum"] == 203_577


def test_table1_family_tags(registry, tasks):
    tagged = [t for t in tasks.values() if set(t.tags) & set(FAMILY_CODES)]
    assert len(tagged) == 24
    for code, family in FAMILY_CODES.items():
        selected = registry.select(tag=code)
        assert len(selected) == 3, code
        assert {t.family for t in selected} == {family}
    assert [t.name for t in registry.select(tag="NLI")] == ["exmix/anli", "exmix/glue_mnli", "exmix/rainbow_anli"]
    assert [t.name for t in registry.select(tag="SEM")] == ["exmix/cogs", "exmix/funql_atis", "exmix/funql_geo"]


def test_families_are_table1_plus_documented_extras(tasks):
    families = Counter(t.family for t in tasks.values())
    extras = set(families) - set(FAMILY_CODES.values())
    assert extras == set(mixlab_exmix.catalog.EXTRA_FAMILIES)
    assert families == {
        "Classification": 32, "Closed-Book QA": 5, "Commonsense": 7, "Data-to-Text": 5, "Dialogue": 7,
        "Entity Linking": 1, "Fact Verification": 1, "NLI": 11, "Question Generation": 3, "Ranking": 1,
        "Reading Comprehension": 10, "Semantic Parsing": 8, "Slot Filling": 2, "Style Transfer": 7, "Summarization": 7}


def test_every_formatter_runs_on_its_fixture_row(tasks):
    assert set(FORMATTERS) == {e.name for e in entries()} == set(ROWS)
    for short, row in ROWS.items():
        out = tasks[f"exmix/{short}"].format(row)
        assert set(out) == {"inputs", "targets"}
        assert out["inputs"].strip() and out["targets"].strip(), short


@pytest.mark.parametrize("short, inputs, targets", [
    ("glue_mnli", "mnli hypothesis: Product and geography are what make cream skimming work. premise: Conceptually "
                  "cream skimming has two basic dimensions - product and geography.", "neutral"),
    ("glue_stsb", "stsb sentence1: A plane is taking off. sentence2: An air plane is taking off.", "4.8"),
    ("superglue_copa", "copa premise: My body cast a shadow over the grass. question: cause choice1: The sun was "
                       "rising. choice2: The grass was cut.", "The sun was rising."),
    ("kilt_nq", "nq question: how i.met your mother who is the mother", "Tracy McConnell"),
    ("rainbow_winogrande", "winogrande sentence: Ian volunteered to eat Dennis's menudo after already having a bowl "
                           "because _ despised eating intestine. option1: Ian option2: Dennis", "Dennis"),
    ("dialoglue_banking77", "banking77 utterance: I am still waiting on my card?", "card_arrival"),
    ("dialoglue_clinc150", "clinc150 utterance: what expression would i use to say i love you if i were an italian",
     "translate"),
    ("dialoglue_sgd", "sgd slots requested: from_location utterance: I want to leave from Sacramento on the 7th",
     "from_location: Sacramento; leaving_date: the 7th"),
    ("goemotions", "goemotions text: My favourite food is anything I didn't have to cook myself.", "neutral"),
    ("sentiment140", "sentiment140 tweet: @switchfoot http://twitpic.com/2y1zl - Awww, that's a bummer.", "negative"),
    ("funql_geo", "parse to funql: what is the capital of texas", "answer(capital(loc_2(stateid('texas'))))"),
    ("ir_atis", "parse to sql: list flights from boston to denver",
     'SELECT DISTINCT FLIGHTalias0.FLIGHT_ID FROM FLIGHT AS FLIGHTalias0 WHERE CITYalias0.CITY_NAME = "boston" '
     'AND CITYalias1.CITY_NAME = "denver" ;'),
    ("gem_schema_guided_dialog", "sgd service: Buses_1 acts: REQUEST(city) INFORM(date, March 1st) context: I need "
                                 "to find a bus.", "Where are you leaving from? It is for March 1st."),
    ("shakespeare_to_modern", "to modern english: you need not to see his identification .",
     "you do n't need to see his identification ."),
    ("ms_marco", "ms_marco query: what is rba passage: Results-Based Accountability is a disciplined way of thinking "
                 "and taking action.", "relevant"),
])
def test_exact_outputs(tasks, short, inputs, targets):
    assert tasks[f"exmix/{short}"].format(ROWS[short]) == {"inputs": inputs, "targets": targets}


def test_hidden_test_labels_are_reported_with_the_task_name(tasks):
    row = dict(ROWS["glue_mnli"], label=-1)
    with pytest.raises(mixlab.DataError, match=r"task 'exmix/glue_mnli'.*outside 0\.\.2"):
        tasks["exmix/glue_mnli"].format(row)


def test_hub_kwargs(tasks):
    assert tasks["exmix/glue_mnli"].source.load_kwargs("train") == {"path": "nyu-mll/glue", "split": "train",
                                                                     "name": "mnli"}
    assert tasks["exmix/glue_mnli"].source.load_kwargs("validation")["split"] == "validation_matched"
    assert tasks["exmix/rainbow_piqa"].source.load_kwargs("train") == {
        "path": "ybisk/piqa", "split": "train", "revision": "refs/convert/parquet", "data_dir": "default"}
    assert tasks["exmix/gem_wiki_lingua"].source.load_kwargs("train") == {
        "path": "GEM/gem", "split": "train", "revision": "refs/convert/parquet", "data_dir": "wiki_lingua_english_en"}
    assert tasks["exmix/anli"].source.load_kwargs("train") == {
        "path": "facebook/anli", "split": "train_r1+train_r2+train_r3"}
    assert tasks["exmix/kilt_zsre"].source.load_kwargs("train")["name"] == "structured_zeroshot"
    funql = tasks["exmix/funql_atis"].source.load_kwargs("train")
    assert funql == {"path": "text", "split": "train", "data_files": {
        "train": "https://raw.githubusercontent.com/JasperGuo/Unimer/master/data/atis/atis_funql_train.tsv"}}
    assert tasks["exmix/funql_atis"].source.load_kwargs("validation")["data_files"] == {
        "validation": "https://raw.githubusercontent.com/JasperGuo/Unimer/master/data/atis/atis_funql_dev.tsv"}


def test_user_files_resolve_under_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv(mixlab_exmix.DATA_ENV, str(tmp_path))
    task = {t.name: t for t in mixlab_exmix.tasks()}["exmix/dialoglue_top"]
    kwargs = task.source.load_kwargs("train")
    assert kwargs["path"] == "text"
    assert kwargs["data_files"]["train"] == str(tmp_path / "top-dataset-semantic-parsing" / "train.tsv")
    assert "source:user" in task.tags


def test_entry_points_and_mixtures():
    eps = {(ep.group, ep.name): ep.value for ep in md.distribution("mixlab-exmix").entry_points}
    assert eps[("mixlab.tasks", "exmix")] == "mixlab_exmix:tasks"
    assert mixlab_exmix.tasks.__mixlab_plugin_api__ == 1
    specs = {}
    for name in ("exmix", "exmix-family-uniform", "ext5"):
        fn = md.EntryPoints(md.distribution("mixlab-exmix").entry_points).select(group="mixlab.mixtures")[name].load()
        assert fn.__mixlab_plugin_api__ == 1
        specs[name] = fn()
    assert specs["exmix"] == {"name": "exmix", "tasks": {"collection": "exmix"},
                              "strategy": {"kind": "proportional", "cap": 300000}}
    assert specs["exmix-family-uniform"]["strategy"] == {"kind": "family_uniform", "cap": 300000}
    assert specs["ext5"] == {"name": "ext5", "rmix": {"self_supervised": "c4/span_corruption",
                                                      "supervised": "exmix", "R": 2, "unit": "examples"}}


def test_plugin_loads_through_the_registry():
    registry = mixlab.load_registry(plugins=["exmix"], strict=True)
    assert len(registry.select(collection="exmix")) == 107
    assert registry.provenance("exmix/squad").distribution == "mixlab-exmix"


def test_cli_lists_107_tasks(capsys):
    assert main(["tasks", "--collection", "exmix", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 107
    assert next(r for r in rows if r["name"] == "exmix/glue_mnli") == {
        "name": "exmix/glue_mnli", "family": "NLI", "collection": "exmix", "num_examples": 392705,
        "tags": ["NLI", "exmix", "source:hub", "t11:GLUE"]}


def test_named_mixtures_build_from_the_catalog(registry, tasks):
    mix = mixlab.get_mixture("exmix", registry=registry)
    capped = {name: min(t.num_train, 300_000) for name, t in tasks.items()}
    total = sum(capped.values())
    assert len(mix.probabilities) == 107
    for name in ("exmix/glue_mnli", "exmix/gigaword", "exmix/superglue_cb"):
        assert mix.probabilities[name] == pytest.approx(capped[name] / total, rel=1e-12)
    uniform = mixlab.get_mixture("exmix-family-uniform", registry=registry)
    assert len(uniform.families) == 15
    assert all(p == pytest.approx(1 / 15) for p in uniform.families.values())


def test_ext5_mixes_c4_with_r_equal_2():
    try:
        registry = mixlab.load_registry(plugins=["exmix", "c4"], strict=True)
    except mixlab.PluginError:
        pytest.skip("mixlab-c4 is not installed")
    mix = mixlab.get_mixture("ext5", registry=registry)
    assert mix.probabilities["c4/span_corruption"] == pytest.approx(2 / 3)
    assert len(mix.probabilities) == 108
