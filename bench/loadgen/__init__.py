"""The parts of bench/load.py, the HTTP load benchmark (its docstring says what a run does).

Imported as ``loadgen.<part>`` with ``bench/`` on ``sys.path``, as bench/load.py, app_flow.py and
instructions.py put it there:

- ``client``     a minimal HTTP/1.1 keep-alive client on the event loop
- ``wallet``     one cross-device flow as a relying party and a wallet make it
- ``processes``  ``redis-server`` and ``agentvp serve`` started, stopped, their CPU and memory
- ``drive``      one load shape run with N wallets, and its summary
- ``units``      the ES256 unit server CPU per flow is given in
- ``bench``      the configurations, and the runner that measures each
- ``report``     the printed lines, the machine, the chart
- ``profiles``   ``--profile``: py-spy's stacks summed by activity
- ``compare``    in-process verification against the reference and polaris-oid4vp
"""
