"""`python -m ringrift_ray.cli`: the same as the `ringrift-ray` command."""

from ringrift_ray.cli.commands import main

if __name__ == "__main__":
    main()
