"""Search throughput benchmark; see ringrift_ray/bench_search.py (prints JSON)."""

from ringrift_ray.bench_search import main

if __name__ == "__main__":
    main()
