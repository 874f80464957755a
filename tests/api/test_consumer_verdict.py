"""The product verdict the consumer page opens with, from the facts: recalled first, then a
latest test that failed, else pending for a unit (its scans decide) and fine for a batch; a
failed test that a later one passed is a retest to explain."""

from __future__ import annotations

from api.consumer_page import product_verdict
from traceability.facts.models import PublicFacts, QualityResult, Recall

LINK = {"uri": "https://id.example.cn/01/06901234567892/10/A", "gtin": "06901234567892", "lot": "A"}


def lab_result(report: str, on: str, result: str, index: int) -> QualityResult:
    """A test of the batch with no items (the verdict reads only the result and the date)."""
    return QualityResult.model_validate(
        {"report_no": report, "tested_on": on, "lab": "实验室", "method": "药典",
         "result": result, "log_index": index}
    )  # fmt: skip


def facts(*tests: QualityResult, serial: str | None = None, recalled: bool = False) -> PublicFacts:
    """Public facts of the batch (or one unit) with `tests`, recalled or not."""
    recall = Recall(level="II", reason="镉超标", on="2026-11-01") if recalled else None
    return PublicFacts(**LINK, serial=serial, tests=list(tests), recall=recall)


def test_a_batch_with_passing_tests_is_fine_and_a_unit_waits_for_its_scans() -> None:
    """No recall and a passing latest test: fine for a batch, pending for a unit."""
    assert product_verdict(facts(lab_result("R1", "2026-09-22", "pass", 3))).kind == "ok"
    assert product_verdict(facts(serial="0001")).kind == "pending"


def test_a_latest_failed_test_is_the_verdict() -> None:
    """A passing test followed by a failing one gives "failed", naming the failing test."""
    verdict = product_verdict(
        facts(lab_result("R2", "2026-10-21", "fail", 9), lab_result("R1", "2026-09-22", "pass", 3))
    )
    assert verdict.kind == "failed"
    assert verdict.failed_test is not None
    assert verdict.failed_test.report_no == "R2"
    assert verdict.retests == []


def test_a_failed_test_then_a_passing_retest_is_a_retest() -> None:
    """A fail, then a pass four days later: not failed, and the pair is the retest to explain,
    whatever order the facts list them in; on the same day the log order decides."""
    for order in (1, -1):
        tests = [
            lab_result("R1", "2026-09-22", "fail", 3),
            lab_result("R2", "2026-09-26", "pass", 5),
        ]
        verdict = product_verdict(facts(*tests[::order], serial="0001"))
        assert verdict.kind == "pending"
        assert [(r.failed.report_no, r.passed.report_no) for r in verdict.retests] == [("R1", "R2")]
    same_day = facts(
        lab_result("R2", "2026-09-22", "pass", 5), lab_result("R1", "2026-09-22", "fail", 3)
    )
    assert product_verdict(same_day).kind == "ok"


def test_a_recall_comes_before_everything() -> None:
    """A recalled batch is "recalled" even when its latest test failed too."""
    verdict = product_verdict(facts(lab_result("R1", "2026-10-21", "fail", 9), recalled=True))
    assert verdict.kind == "recalled"
