"""A run's plan as both faces read it: sprint's 3 epochs, the last one half, are 2.5."""

from __future__ import annotations

from mnist_tui.plan import Plan


def test_a_whole_plan_reads_as_its_epochs():
    plan = Plan(3)
    assert (plan.number, str(plan), plan.length) == ("3", "3 epochs", 3.0)
    assert [plan.part(e) for e in (1, 2, 3)] == ["", "", ""]
    assert plan.of_epoch(3) == "3" and plan.trained(3) == "3 epochs" and str(Plan(1)) == "1 epoch"


def test_sprints_plan_reads_as_two_and_a_half_epochs_and_marks_its_half_epoch():
    plan = Plan.of(3, {"last_epoch_fraction": 0.5})
    assert (plan.number, str(plan), plan.length) == ("2.5", "2.5 epochs", 2.5)
    assert (plan.of_epoch(2), plan.of_epoch(3)) == ("3", "3 (half)")
    assert (plan.trained(1), plan.trained(2), plan.trained(3)) == ("1 epoch", "2 epochs", "2.5 epochs")
    assert (plan.share_of(2), plan.share_of(3)) == (1.0, 0.5)
    assert Plan(4, 0.25, 4).part(4) == " (25% of it)"


def test_settings_without_a_valid_share_plan_whole_epochs():
    """A run folder's config may hold none (older runs) or a damaged one: whole epochs, not a crash."""
    for settings in ({}, {"last_epoch_fraction": "half"}, {"last_epoch_fraction": 0}, None, ["not", "a", "dict"]):
        assert Plan.of(3, settings) == Plan(3)
    assert Plan().length == 0.0 and Plan().trained(0) == "0 epochs"


def test_epochs_added_after_sprints_half_epoch_keep_it_half():
    """`a` on a finished sprint showed "epoch 3/8", a run bar of 3/8 and "epochs 3 → 8": the half
    epoch counted as whole. Added before it trains, the epochs make it whole (the trainer's plan)."""
    sprint = Plan.of(3, {"last_epoch_fraction": 0.5})
    after = sprint.extended_to(8, done=3)
    assert (after.number, str(after), after.of_epoch(3), after.of_epoch(8)) == ("7.5", "7.5 epochs", "8 (half)", "8")
    assert [after.trained(d) for d in (2, 3, 8)] == ["2 epochs", "2.5 epochs", "7.5 epochs"]
    assert sprint.change_to(8, done=3) == "epochs 2.5 → 7.5"
    early = sprint.extended_to(8, done=1)
    assert early == Plan(8) and sprint.change_to(8, done=1) == "epochs 2.5 → 8"
    assert Plan(3).change_to(8, done=3) == "epochs 3 → 8"


def test_the_epoch_rows_say_which_epoch_trained_a_share_of_the_data():
    """A folder's settings say only the plan in force; its rows say what each epoch trained."""
    from mnist_tui.training.events import EpochRecord

    def row(epoch, samples, world_size=1):
        return EpochRecord(epoch, 0.1, 0.9, 0.1, 0.9, 1.0, 1e4, 0.01, world_size=world_size, samples=samples)

    rows = [row(1, 3000), row(2, 3000), row(3, 1500), row(4, 3000)]
    assert Plan.of(8, {}, rows, 3000) == Plan(8, 0.5, 3)
    assert Plan.of(4, {}, [row(1, 3000), row(2, None)], 3000) == Plan(4)  # not recorded (older folders): whole
    assert Plan.of(4, {}, [row(1, 2999, world_size=2)], 3000) == Plan(4)  # torchrun leaves out a remainder
    assert Plan.of(3, {"last_epoch_fraction": 0.5}, rows[:2], 3000) == Plan(3, 0.5, 3)  # not trained yet


def test_the_workspace_reads_a_steered_sprint_from_its_rows_not_its_first_plans_share():
    """run.json keeps a run's first plan: a sprint steered to 5 epochs before its half epoch
    trained 5 whole ones, and the workspace read 4.5 (run.json's share with status.json's 5)."""
    from types import SimpleNamespace

    from mnist_tui.training.events import EpochRecord
    from mnist_tui.workspace.summary import plan_of

    def row(epoch, samples):
        return EpochRecord(epoch, 0.1, 0.9, 0.1, 0.9, 1.0, 1e4, 0.01, samples=samples)

    info = SimpleNamespace(config={"epochs": 3, "last_epoch_fraction": 0.5}, train_size=1000)
    assert plan_of(3, info, [row(1, 1000)]).length == 2.5  # as planned
    assert plan_of(5, info, [row(e, 1000) for e in (1, 2, 3)]).length == 5  # steered before the half
    steered_after = [row(1, 1000), row(2, 1000), row(3, 500)]  # the half trained, then `a`
    assert plan_of(8, info, steered_after).length == 7.5
