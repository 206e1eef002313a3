"""Running ftverify's work on a Dask distributed cluster (`--cluster`, the optional extra
`ftverify[cluster]`): the proof script's jobs and fault campaigns (`backend`), and explicit
exploration with the visited set partitioned across the workers (`explore`).

Commands import this package; it imports the engines; the engines never import it.
Dask itself is imported only when a cluster is asked for.
"""
