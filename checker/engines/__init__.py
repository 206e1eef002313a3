"""The engines: exploration, the Z3 encoding and its engines, refinement, campaigns and the
state graph. They read the typed model (`ftverify.spec`) and return `output.result` values."""
