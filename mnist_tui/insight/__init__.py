"""Inside the network (issue 13): what the CNN learned, not only what it predicts. No Textual here.

Engine modules (torch and numpy only; ``tests/test_no_textual_in_training.py`` checks it):

- :mod:`.filters`: conv1's 10 and conv2's 20×10 5×5 kernels as numpy, and :class:`Weights`,
  a CPU copy of the network's parameters with its epoch, read from whatever the UI holds.
- :mod:`.activations`: one digit through the network: conv1's 10 maps (24×24), conv2's 20
  maps (8×8), the prediction, and the saliency (gradient of the predicted logit with respect
  to the normalised input, and gradient × input), on a private CPU copy.
- :mod:`.layer_records`: :class:`LayerStatsRecord`, one per epoch: weight norm, gradient norm,
  update/weight ratio and a weight histogram for conv1, conv2, fc1 and fc2 (no numpy: the
  dashboard's first frame imports it); :mod:`.layer_stats` computes them.
- :mod:`.layers_log`: the run folder's ``layers.jsonl`` (append, read, truncate on resume).
- :mod:`.embedding`: the test set's 50-d fc1 features projected to 2-D by PCA.
- :mod:`.render`: pure rich-``Text`` renderers (diverging and grey half-blocks, tile grids,
  histogram heat bands).

The Textual side is :mod:`mnist_tui.tui.widgets.model_view` and :mod:`mnist_tui.tui.screens.model_view`.

Integration
-----------
Trainer (per epoch, outside the batch loop)::

    from mnist_tui.insight.layer_stats import epoch_layer_stats, weights_copy

    start = weights_copy(model)            # at the epoch's start (a clone of 4 weight tensors)
    ...train the epoch...
    record = epoch_layer_stats(epoch, model, start)   # at its end, before the next zero_grad
    emit(record)                           # or wrap it in an event (it is a frozen dataclass)

Run-folder writer, on that event::

    from mnist_tui.runfolder.layers_log import append_layer_stats, truncate_layer_stats, read_layer_stats

    append_layer_stats(run_dir, record)    # one fsync'd line in run_dir/layers.jsonl
    truncate_layer_stats(run_dir, keep_epochs=n)   # on resume from a checkpoint of epoch n
    rows = read_layer_stats(run_dir)   # replay / follow: rows.records, rows.skipped

Dashboard: key ``i`` pushes :class:`mnist_tui.tui.screens.model_view.ModelViewScreen` (see its
docstring for the exact calls); everything heavy runs there in thread workers, never in
the training loop.
"""
