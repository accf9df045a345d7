"""Rules-engine playout benchmark; prints JSON. Same as ``ringrift-ray bench rules``.

    python benchmarks/bench_rules.py --seconds 20 --boards square8 hex8 --players 2 --seed 0

The logic lives in ``ringrift_ray/bench_rules.py`` so that the console script works from any
directory.
"""

from ringrift_ray.bench_rules import main

if __name__ == "__main__":
    main()
