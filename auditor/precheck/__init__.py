"""Pre-change validation: ``auditor precheck add-management`` and ``auditor precheck update``.

Before adding a Management server or updating the cluster, an admin needs a go or a no-go,
each precondition with its reason, and the values the change needs (the version to install,
the repository share, the service account), not a full audit to read and weigh alone. The
pieces, each with one job:

* :mod:`~auditor.precheck.model`: the vocabulary (Precondition, Verdict, PrecheckReport ...);
* :mod:`~auditor.precheck.situation`: the collected cluster seen without / only / with the new
  server, and the checks' findings over each (preconditions reuse the checks' rules);
* :mod:`~auditor.precheck.conditions`: one module per precondition, one tuple per change;
* :mod:`~auditor.precheck.needs`: the values the change must copy, with their source;
* :mod:`~auditor.precheck.order`, :mod:`~auditor.precheck.next_steps`: what to do, in order;
* :mod:`~auditor.precheck.run`: the use case (collect, evaluate, record and pin the baseline,
  write the outputs); :mod:`~auditor.precheck.output`: console, HTML, JSON;
* :mod:`~auditor.precheck.after`: the follow-up plan after a new Management server is
  installed, built by the fixers and applied by the fix rollout.

The command (``auditor/commands/precheck.py``) only parses options and prints.
"""
