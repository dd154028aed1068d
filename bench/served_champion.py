"""Champion/challenger on one served network: the champion (a saved served network file, or the
starter settings trained here) against a challenger trained with larger settings, both evaluated
on the same fixed held-out set (:mod:`inversion.served.champion`: median network-only χ).

Run: ``.venv/bin/python bench/served_champion.py --method mt-1d --layers 3
[--champion FILE] [--samples 80000] [--hidden 96] [--epochs 120] [--members 3] [--n-eval 100]``
"""

from __future__ import annotations

import argparse
import time

from inversion.served import ServedNetwork, TrainingSettings, train_served
from inversion.served.champion import challenger_wins, evaluate, held_out_soundings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="mt-1d")
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--champion", help="a served network file (default: train the starter)")
    parser.add_argument("--samples", type=int, default=80000)
    parser.add_argument("--hidden", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=120)
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--n-eval", type=int, default=100)
    args = parser.parse_args()
    soundings = held_out_soundings(args.method, args.layers, args.n_eval)
    t0 = time.perf_counter()
    if args.champion:
        champion = ServedNetwork.load(args.champion)
    else:
        champion = train_served(args.method, args.layers, TrainingSettings())
    t1 = time.perf_counter()
    settings = TrainingSettings(
        n_samples=args.samples,
        n_members=args.members,
        network={"hidden": args.hidden, "max_epochs": args.epochs, "learning_rate": 3e-3},
    )
    challenger = train_served(args.method, args.layers, settings)
    t2 = time.perf_counter()
    old, new = evaluate(champion, soundings), evaluate(challenger, soundings)
    t3 = time.perf_counter()
    print(
        f"champion   {champion.settings['n_samples']:>6d} samples, "
        f"hidden {champion.settings['network']['hidden']}: median network chi "
        f"{old['median_network_chi']:.3f} ({old['n_evaluated']} soundings)  "
        f"[{t1 - t0:.1f} s]"
    )
    print(
        f"challenger {args.samples:>6d} samples, hidden {args.hidden}, {args.epochs} epochs, "
        f"{args.members} members: median network chi {new['median_network_chi']:.3f}  "
        f"[trained in {t2 - t1:.1f} s]"
    )
    print(f"evaluation of both: {t3 - t2:.1f} s; promoted: {challenger_wins(old, new)}")


if __name__ == "__main__":
    main()
