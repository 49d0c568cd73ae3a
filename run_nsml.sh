#!/usr/bin/env bash
# The seed's cloud line, run on the local NSML: register the real data first with
#   nsml dataset add sr-hack-2019-dataset /path/to/the/downloaded/dataset
# and pass its own label table, e.g. -a "... --labels /path/to/hackathon.labels".
# Without a GPU the session trains on the CPU (main.py falls back when CUDA is not available).
nsml run -g 1 -c 4 -d sr-hack-2019-dataset -a "--batch_size 8 --workers 2 --use_attention" "$@"
