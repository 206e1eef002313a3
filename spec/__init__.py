import time

# When this process first loaded ftverify: a cluster worker whose code files changed since then runs
# old code (see `digest.running_code`).
LOADED_AT = time.time()
