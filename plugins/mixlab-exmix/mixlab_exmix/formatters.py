"""Text-to-text formatters for the 107 ExMix tasks, one per catalog name, each for its source's real schema.

Inputs start with the task's prefix and name their fields (``"mnli hypothesis: ... premise: ..."``);
class ids become label names. A formatter raises ``KeyError``/``ValueError`` on a row it cannot read
(e.g. a hidden test label ``-1``), which ``Task.format`` reports with the task name.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import Any

Row = Mapping[str, Any]
Formatter = Callable[[Row], dict[str, str]]

FORMATTERS: dict[str, Formatter] = {}
LABELS: dict[str, list[str]] = json.loads(resources.files(__package__).joinpath("labels.json").read_text("utf-8"))


def _register(*names: str) -> Callable[[Formatter], Formatter]:
    def add(fn: Formatter) -> Formatter:
        for name in names:
            assert name not in FORMATTERS, name
            FORMATTERS[name] = fn
        return fn

    return add


def _out(inputs: str, targets: Any) -> dict[str, str]:
    return {"inputs": inputs, "targets": str(targets)}


def _fields(prefix: str, row: Row, columns: Sequence[str], names: Sequence[str] | None = None) -> str:
    """``"prefix name1: value1 name2: value2"`` from ``row[columns[i]]``."""
    names = names or columns
    return " ".join([prefix, *(f"{n}: {_text(row[c])}" for n, c in zip(names, columns, strict=True))])


def _text(value: Any) -> str:
    return " ".join(str(value).split())


def _label(names: Sequence[str], value: Any) -> str:
    index = int(value)
    if not 0 <= index < len(names):
        raise ValueError(f"label {value!r} outside 0..{len(names) - 1} (hidden test label?)")
    return names[index]


def _first(values: Sequence[Any], what: str) -> str:
    for value in values:
        if str(value).strip():
            return str(value)
    raise ValueError(f"no non-empty {what}")


def _classifier(prefix: str, columns: Sequence[str], label_column: str, names: Sequence[str],
                field_names: Sequence[str] | None = None) -> Formatter:
    def fmt(row: Row) -> dict[str, str]:
        return _out(_fields(prefix, row, columns, field_names), _label(names, row[label_column]))

    return fmt


def _seq2seq(prefix: str, columns: Sequence[str], target: str, field_names: Sequence[str] | None = None) -> Formatter:
    def fmt(row: Row) -> dict[str, str]:
        value = row[target]
        text = value if isinstance(value, str) else _first(value, target)
        return _out(_fields(prefix, row, columns, field_names), text)

    return fmt


def _tsv(row: Row, width: int) -> list[str]:
    """Cells of a tab-separated line read by the ``text`` builder (column ``text``)."""
    cells = row["text"].rstrip("\n").split("\t")
    if len(cells) < width:
        raise ValueError(f"expected {width} tab-separated columns, got {len(cells)}")
    return cells


# ------------------------------------------------------------------------------------------ GLUE
ENT2 = ("entailment", "not_entailment")
FORMATTERS.update({
    "glue_cola": _classifier("cola", ["sentence"], "label", ("unacceptable", "acceptable")),
    "glue_sst2": _classifier("sst2", ["sentence"], "label", ("negative", "positive")),
    "glue_mrpc": _classifier("mrpc", ["sentence1", "sentence2"], "label", ("not_equivalent", "equivalent")),
    "glue_qqp": _classifier("qqp", ["question1", "question2"], "label", ("not_duplicate", "duplicate")),
    "glue_mnli": _classifier("mnli", ["hypothesis", "premise"], "label", ("entailment", "neutral", "contradiction")),
    "glue_qnli": _classifier("qnli", ["question", "sentence"], "label", ENT2),
    "glue_rte": _classifier("rte", ["sentence1", "sentence2"], "label", ENT2),
})


@_register("glue_stsb")
def _stsb(row: Row) -> dict[str, str]:
    score = float(row["label"])
    if not 0.0 <= score <= 5.0:
        raise ValueError(f"similarity {score} outside [0, 5] (hidden test label?)")
    return _out(_fields("stsb", row, ["sentence1", "sentence2"]), f"{round(score * 5) / 5:.1f}")  # T5: 0.2 steps


# ------------------------------------------------------------------------------------- SuperGLUE
TF = ("False", "True")
FORMATTERS.update({
    "superglue_boolq": _classifier("boolq", ["question", "passage"], "label", TF),
    "superglue_cb": _classifier("cb", ["hypothesis", "premise"], "label", ("entailment", "contradiction", "neutral")),
    "superglue_multirc": _classifier("multirc", ["question", "answer", "paragraph"], "label", TF),
    "superglue_rte": _classifier("rte", ["hypothesis", "premise"], "label", ENT2),
})


@_register("superglue_copa")
def _copa(row: Row) -> dict[str, str]:
    choice = _label(("choice1", "choice2"), row["label"])
    return _out(_fields("copa", row, ["premise", "question", "choice1", "choice2"]), row[choice])


@_register("superglue_record")
def _record(row: Row) -> dict[str, str]:
    entities = ", ".join(dict.fromkeys(row["entities"]))
    inputs = f"record query: {_text(row['query'])} entities: {entities} passage: {_text(row['passage'])}"
    return _out(inputs, _first(row["answers"], "answer"))


@_register("superglue_wic")
def _wic(row: Row) -> dict[str, str]:
    return _out(_fields("wic", row, ["word", "sentence1", "sentence2"]), _label(TF, row["label"]))


@_register("superglue_wsc")
def _wsc(row: Row) -> dict[str, str]:
    inputs = f"wsc text: {_text(row['text'])} pronoun: {row['span2_text']} candidate: {row['span1_text']}"
    return _out(inputs, _label(TF, row["label"]))


# ------------------------------------------------------------------------------------------ KILT
def _kilt(prefix: str, field: str) -> Formatter:
    def fmt(row: Row) -> dict[str, str]:
        answers = [o["answer"] for o in row["output"] if o.get("answer")]
        return _out(f"{prefix} {field}: {_text(row['input'])}", _first(answers, "output answer"))

    return fmt


FORMATTERS.update({
    "kilt_fever": _kilt("fever", "claim"),
    "kilt_aidayago2": _kilt("aidayago2", "mention"),
    "kilt_zsre": _kilt("zsre", "subject and relation"),
    "kilt_trex": _kilt("trex", "subject and relation"),
    "kilt_nq": _kilt("nq", "question"),
    "kilt_hotpotqa": _kilt("hotpotqa", "question"),
    "kilt_triviaqa": _kilt("triviaqa", "question"),
    "kilt_eli5": _kilt("eli5", "question"),
    "kilt_wow": _kilt("wow", "dialogue"),
})


# --------------------------------------------------------------------------------------- Rainbow
def _choice(prefix: str, context: Sequence[str], options: Sequence[str], label: str, offset: int) -> Formatter:
    """Multiple choice: the target is the text of the correct option; ``offset`` = id of the first option."""

    def fmt(row: Row) -> dict[str, str]:
        index = int(row[label]) - offset
        if not 0 <= index < len(options):
            raise ValueError(f"label {row[label]!r} names no option of {list(options)}")
        return _out(_fields(prefix, row, [*context, *options]), row[options[index]])

    return fmt


FORMATTERS.update({
    "rainbow_anli": _choice("anli", ["observation_1", "observation_2"], ["hypothesis_1", "hypothesis_2"], "label", 1),
    "rainbow_cosmosqa": _choice("cosmosqa", ["context", "question"], [f"answer{i}" for i in range(4)], "label", 0),
    "rainbow_piqa": _choice("piqa", ["goal"], ["sol1", "sol2"], "label", 0),
    "rainbow_socialiqa": _choice("socialiqa", ["context", "question"], ["answerA", "answerB", "answerC"], "label", 1),
    "rainbow_winogrande": _choice("winogrande", ["sentence"], ["option1", "option2"], "answer", 1),
})


@_register("rainbow_hellaswag")
def _hellaswag(row: Row) -> dict[str, str]:
    endings = list(row["endings"])
    index = int(row["label"])
    options = " ".join(f"ending{i}: {_text(e)}" for i, e in enumerate(endings))
    return _out(f"hellaswag context: {_text(row['ctx'])} {options}", endings[index])


# ------------------------------------------------------------------------------------------- GEM
FORMATTERS.update({
    "gem_wiki_lingua": _seq2seq("summarize", ["source"], "target", ["article"]),
    "gem_e2e_nlg": _seq2seq("e2e_nlg", ["meaning_representation"], "target", ["meaning representation"]),
    "gem_wiki_auto_asset_turk": _seq2seq("simplify", ["source"], "target", ["sentence"]),
})


@_register("gem_web_nlg")
def _web_nlg(row: Row) -> dict[str, str]:
    return _out(f"web_nlg category: {row['category']} triples: {' | '.join(row['input'])}", row["target"])


@_register("gem_common_gen")
def _common_gen(row: Row) -> dict[str, str]:
    return _out(f"common_gen concepts: {', '.join(row['concepts'])}", row["target"])


@_register("gem_dart")
def _dart(row: Row) -> dict[str, str]:
    triples = " | ".join(" : ".join(t) for t in row["tripleset"])
    return _out(f"dart triples: {triples}", row["target"])


@_register("gem_totto")
def _totto(row: Row) -> dict[str, str]:
    table = row["table"]
    cells = " | ".join(_text(table[r][c]["value"]) for r, c in row["highlighted_cells"])
    inputs = (f"totto page: {row['table_page_title']} section: {row['table_section_title']} "
              f"highlighted cells: {cells}")
    return _out(inputs, row["target"])


SGD_ACTS = ("AFFIRM", "AFFIRM_INTENT", "CONFIRM", "GOODBYE", "INFORM", "INFORM_COUNT", "INFORM_INTENT", "NEGATE",
            "NEGATE_INTENT", "NOTIFY_FAILURE", "NOTIFY_SUCCESS", "OFFER", "OFFER_INTENT", "REQUEST", "REQUEST_ALTS",
            "REQ_MORE", "SELECT", "THANK_YOU")


@_register("gem_schema_guided_dialog")
def _gem_sgd(row: Row) -> dict[str, str]:
    acts = []
    for act in row["dialog_acts"]:
        name = act["act"] if isinstance(act["act"], str) else _label(SGD_ACTS, act["act"])
        args = ", ".join(filter(None, [act.get("slot") or "", *act.get("values", [])]))
        acts.append(f"{name}({args})")
    context = " ".join(_text(turn) for turn in row["context"])
    return _out(f"sgd service: {row['service']} acts: {' '.join(acts)} context: {context}", row["target"])


# ------------------------------------------------------------------------------------- DialoGLUE
FORMATTERS.update({
    "dialoglue_banking77": _classifier("banking77", ["text"], "label", LABELS["banking77"], ["utterance"]),
    "dialoglue_clinc150": _classifier("clinc150", ["text"], "intent", LABELS["clinc150"], ["utterance"]),
    "dialoglue_hwu64": _seq2seq("hwu64", ["text"], "category", ["utterance"]),
})


@_register("dialoglue_sgd")
def _dialoglue_sgd(row: Row) -> dict[str, str]:
    """DialoGLUE/Span-ConveRT slot format: userInput.text and labels[].{slot, valueSpan.{startIndex,endIndex}}."""
    text = row["userInput"]["text"]
    slots = []
    for label in row.get("labels") or []:
        span = label["valueSpan"]
        slots.append(f"{label['slot']}: {text[span.get('startIndex') or 0:span['endIndex']]}")
    requested = ", ".join((row.get("context") or {}).get("requestedSlots") or [])
    return _out(f"sgd slots requested: {requested or 'none'} utterance: {_text(text)}", "; ".join(slots) or "none")


@_register("dialoglue_top")
def _top(row: Row) -> dict[str, str]:
    raw, _tokenized, tree = _tsv(row, 3)[:3]
    return _out(f"top utterance: {raw}", tree)


# ------------------------------------------------------------------------------------- TweetEval
FORMATTERS.update({
    "tweeteval_emotion": _classifier("tweet emotion", ["text"], "label", ("anger", "joy", "optimism", "sadness"),
                                     ["tweet"]),
    "tweeteval_emoji": _classifier("tweet emoji", ["text"], "label", LABELS["tweeteval_emoji"], ["tweet"]),
    "tweeteval_irony": _classifier("tweet irony", ["text"], "label", ("non_irony", "irony"), ["tweet"]),
    "tweeteval_hate": _classifier("tweet hate", ["text"], "label", ("non-hate", "hate"), ["tweet"]),
    "tweeteval_offensive": _classifier("tweet offensive", ["text"], "label", ("non-offensive", "offensive"), ["tweet"]),
    "tweeteval_sentiment": _classifier("tweet sentiment", ["text"], "label", ("negative", "neutral", "positive"),
                                       ["tweet"]),
    "tweeteval_stance": _classifier("tweet stance", ["text"], "label", ("none", "against", "favor"), ["tweet"]),
})


# ---------------------------------------------------------------------------------- summarization
FORMATTERS.update({
    "cnn_dailymail": _seq2seq("summarize", ["article"], "highlights", ["article"]),
    "xsum": _seq2seq("summarize", ["document"], "summary", ["document"]),
    "aeslc": _seq2seq("subject line", ["email_body"], "subject_line", ["email"]),
    "gigaword": _seq2seq("headline", ["document"], "summary", ["sentence"]),
    "samsum": _seq2seq("summarize", ["dialogue"], "summary", ["dialogue"]),
})


@_register("multi_news")
def _multi_news(row: Row) -> dict[str, str]:
    docs = [_text(d) for d in row["document"].replace("NEWLINE_CHAR", " ").split("|||||") if d.strip()]
    return _out("summarize " + " ".join(f"document: {d}" for d in docs), row["summary"].lstrip("– ").strip())


# -------------------------------------------------------------------------------------------- NLI
NLI3 = ("entailment", "neutral", "contradiction")
FORMATTERS.update({
    "anli": _classifier("anli", ["hypothesis", "premise"], "label", NLI3),
})


@_register("esnli")
def _esnli(row: Row) -> dict[str, str]:
    """Original e-SNLI CSV: gold_label, Sentence1 (premise), Sentence2 (hypothesis), Explanation_1."""
    label = row["gold_label"]
    if label not in NLI3:
        raise ValueError(f"gold_label {label!r} is not one of {NLI3}")
    inputs = f"explain nli hypothesis: {_text(row['Sentence2'])} premise: {_text(row['Sentence1'])}"
    return _out(inputs, f"{label} explanation: {_text(row['Explanation_1'])}")


@_register("agreesum_entailment")
def _agreesum(row: Row) -> dict[str, str]:
    inputs = f"agreesum summary: {_text(row['summary'])} article: {_text(row['article'])}"
    return _out(inputs, _label(("not_entailment", "entailment"), row["label"]))


@_register("docnli")
def _docnli(row: Row) -> dict[str, str]:
    return _out(_fields("docnli", row, ["hypothesis", "premise"]), row["label"])


@_register("vitaminc")
def _vitaminc(row: Row) -> dict[str, str]:
    return _out(_fields("vitaminc", row, ["claim", "evidence"]), row["label"])


# --------------------------------------------------------------------------------------------- QA
FORMATTERS.update({
    "web_questions": _seq2seq("web_questions", ["question"], "answers", ["question"]),
    "tweet_qa": _seq2seq("tweet_qa", ["Question", "Tweet"], "Answer", ["question", "tweet"]),
})


@_register("squad")
def _squad(row: Row) -> dict[str, str]:
    return _out(_fields("squad", row, ["question", "context"]), _first(row["answers"]["text"], "answer"))


@_register("drop")
def _drop(row: Row) -> dict[str, str]:
    spans = ", ".join(row["answers_spans"]["spans"]) or _first([], "answer span")
    return _out(_fields("drop", row, ["question", "passage"]), spans)


@_register("quac")
def _quac(row: Row) -> dict[str, str]:
    """One example per dialogue row: the last answerable turn, with earlier turns as history."""
    questions, answers = row["questions"], row["orig_answers"]["texts"]
    last = max((i for i, a in enumerate(answers) if a and a != "CANNOTANSWER"), default=None)
    if last is None:
        raise ValueError("dialogue has no answerable turn")
    history = "".join(f" q: {_text(q)} a: {_text(a)}" for q, a in zip(questions[:last], answers[:last], strict=True))
    inputs = (f"quac title: {row['wikipedia_page_title']} section: {row['section_title']}"
              f"{' history:' + history if history else ''} question: {_text(questions[last])} "
              f"context: {_text(row['context'])}")
    return _out(inputs, answers[last])


def _race(question_generation: bool) -> Formatter:
    def fmt(row: Row) -> dict[str, str]:
        options = list(row["options"])
        answer = options["ABCD".index(row["answer"])]
        if question_generation:
            inputs = f"race generate question answer: {_text(answer)} article: {_text(row['article'])}"
            return _out(inputs, row["question"])
        opts = " ".join(f"({k}) {_text(o)}" for k, o in zip("ABCD", options, strict=False))  # at most 4 labelled
        return _out(f"race question: {_text(row['question'])} options: {opts} article: {_text(row['article'])}", answer)

    return fmt


FORMATTERS.update({"race_high": _race(False), "race_middle": _race(False),
                   "race_high_qg": _race(True), "race_middle_qg": _race(True)})


@_register("eraser_multirc")
def _eraser_multirc(row: Row) -> dict[str, str]:
    question, _, answer = row["query_and_answer"].partition("||")
    inputs = f"eraser_multirc question: {_text(question)} answer: {_text(answer)} passage: {_text(row['passage'])}"
    return _out(inputs, _label(TF, row["label"]))


@_register("newsquizqa")
def _newsquizqa(row: Row) -> dict[str, str]:
    """Original CSV (url, question, answer) plus the user-fetched ``article`` text."""
    return _out(f"newsquizqa article: {_text(row['article'])}", f"question: {row['question']} answer: {row['answer']}")


# --------------------------------------------------------------------------------- classification
STARS = ("1 star", "2 stars", "3 stars", "4 stars", "5 stars")
FORMATTERS.update({
    "amazon_reviews": _classifier("amazon review", ["text"], "label", STARS, ["review"]),
    "imdb": _classifier("imdb", ["text"], "label", ("negative", "positive"), ["review"]),
    "yelp_polarity": _classifier("yelp polarity", ["text"], "label", ("negative", "positive"), ["review"]),
    "ag_news": _classifier("ag_news", ["text"], "label", ("World", "Sports", "Business", "Sci/Tech"), ["article"]),
    "trec": _classifier("trec", ["text"], "coarse_label", ("ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM"), ["question"]),
    "yahoo_answers": _classifier("yahoo_answers", ["question_title", "question_content", "best_answer"], "topic",
                                 LABELS["yahoo_answers"], ["title", "question", "answer"]),
})


@_register("goemotions")
def _goemotions(row: Row) -> dict[str, str]:
    names = [_label(LABELS["goemotions"], i) for i in row["labels"]]
    return _out(f"goemotions text: {_text(row['text'])}", ", ".join(names) or _first([], "label"))


@_register("sentiment140")
def _sentiment140(row: Row) -> dict[str, str]:
    """Original headerless CSV line: polarity, id, date, query, user, text (polarity 0/2/4)."""
    cells = next(csv.reader([row["text"]]))
    if len(cells) != 6:
        raise ValueError(f"expected 6 CSV columns, got {len(cells)}")
    polarity = {"0": "negative", "2": "neutral", "4": "positive"}[cells[0]]
    return _out(f"sentiment140 tweet: {_text(cells[5])}", polarity)


@_register("civil_comments")
def _civil_comments(row: Row) -> dict[str, str]:
    toxic = float(row["toxicity"]) >= 0.5  # the usual binarisation of the annotator fraction
    return _out(f"civil_comments comment: {_text(row['text'])}", "toxic" if toxic else "non-toxic")


@_register("wiki_toxicity")
def _wiki_toxicity(row: Row) -> dict[str, str]:
    return _out(f"wiki_toxicity comment: {_text(row['comment_text'])}", _label(("non-toxic", "toxic"), row["label"]))


@_register("ukp_argmin")
def _ukp(row: Row) -> dict[str, str]:
    return _out(_fields("argument", row, ["topic", "sentence"]), row["annotation"])


# ------------------------------------------------------------------------------- semantic parsing
@_register("funql_atis", "funql_geo", "funql_jobs")
def _funql(row: Row) -> dict[str, str]:
    question, funql = _tsv(row, 2)[:2]
    return _out(f"parse to funql: {question}", funql)


@_register("ir_cfq")
def _cfq(row: Row) -> dict[str, str]:
    return _out(f"cfq question: {row['question']}", _text(row["query"]))


@_register("ir_atis", "ir_geoquery", "ir_scholar")
def _text2sql(row: Row) -> dict[str, str]:
    """text2sql-data JSON: the first sentence and the first (shortest-listed) SQL, variables filled in."""
    sentence = row["sentences"][0]
    text, sql = sentence["text"], row["sql"][0]
    for name, value in sentence["variables"].items():
        if value is not None:  # datasets fills variables of other rows with None
            text, sql = text.replace(name, value), sql.replace(name, value)
    return _out(f"parse to sql: {text}", _text(sql))


FORMATTERS["cogs"] = _seq2seq("cogs", ["input"], "output", ["sentence"])


# -------------------------------------------------------------------------- detection, style, ranking
@_register(*(f"gpt2_detect_{g}" for g in ("small_117m", "small_117m_k40", "medium_345m", "medium_345m_k40",
                                           "large_762m", "large_762m_k40", "xl_1542m", "xl_1542m_k40")))
def _gpt2_detect(row: Row) -> dict[str, str]:
    """gpt-2-output-dataset JSONL rows (id, ended, length, text) with the ``label`` the merge step adds."""
    if row["label"] not in ("human", "machine"):
        raise ValueError(f"label {row['label']!r} is not 'human' or 'machine'")
    return _out(f"detect generated text: {_text(row['text'])}", row["label"])


@_register("styleptb_atp", "styleptb_pfb", "styleptb_tfu", "styleptb_tpa")
def _styleptb(row: Row) -> dict[str, str]:
    source, target = _tsv(row, 2)[-2:]
    return _out(f"style transfer: {source}", target)


@_register("shakespeare_to_original")
def _to_original(row: Row) -> dict[str, str]:
    modern, original = _tsv(row, 2)[:2]
    return _out(f"to shakespearean: {modern}", original)


@_register("shakespeare_to_modern")
def _to_modern(row: Row) -> dict[str, str]:
    modern, original = _tsv(row, 2)[:2]
    return _out(f"to modern english: {original}", modern)


@_register("ms_marco")
def _ms_marco(row: Row) -> dict[str, str]:
    """Pointwise on the row's first passage: is it selected for the query?"""
    passages = row["passages"]
    relevant = int(passages["is_selected"][0]) == 1
    inputs = f"ms_marco query: {_text(row['query'])} passage: {_text(passages['passage_text'][0])}"
    return _out(inputs, "relevant" if relevant else "not relevant")
