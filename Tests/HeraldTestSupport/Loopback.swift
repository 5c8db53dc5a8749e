// The loopback stand-ins and the process runner live in `HeraldLoopback` (herald-bench uses them too);
// every test that imports the test support gets them with it.
@_exported public import HeraldLoopback
