#!/usr/bin/env bash
# The seed's grid over a Slurm job array: task I of N measures shard I on a GPU node of its
# own, then one job merges the shards. Submit with:
#   jobid=$(sbatch --parsable docs/scale/slurm-array.sh)
#   sbatch --dependency=afterany:$jobid --wrap "pruneenergy merge runs/shard-* --out runs/all --save"
#SBATCH --job-name=pruneenergy-grid
#SBATCH --array=1-3
#SBATCH --gres=gpu:1
#SBATCH --exclusive
#SBATCH --time=00:30:00
#SBATCH --output=runs/slurm-%A_%a.out
set -euo pipefail

shards=${SLURM_ARRAY_TASK_COUNT:-3}
shard=${SLURM_ARRAY_TASK_ID:-1}

# --energy-resume: a task that Slurm requeued continues where it was cut off.
pytest models --prune-models=models \
    --prune-shard="$shard/$shards" \
    --energy-report="runs/shard-$shard" \
    --energy-resume \
    -p no:cacheprovider
