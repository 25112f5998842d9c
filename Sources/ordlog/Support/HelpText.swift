import ArgumentParser

/// `--consumer-id` of the commands that write a log (ingest, consume): one text for both.
let consumerIdHelp = ArgumentHelp(
    "Who writes this log, recorded in it (a hash-chained identity record) when it changes. Default: the host "
        + "name with the ECS task id (ECS_CONTAINER_METADATA_URI_V4) or the pod name (POD_NAME, or HOSTNAME "
        + "on Kubernetes), else the id already recorded in the log, else a generated HOST-XXXXXXXX.",
    valueName: "id")

/// The --help paragraph of the commands that read several logs as one (one text, so the merge order is stated
/// once; ``LogSet`` implements it).
let severalLogsHelp = """
    The logs (one file, repeated --db, a folder of *.db files, a glob, a sealed log with its segments, or \
    s3://BUCKET/PREFIX) are verified first, every chain walked, one log too: a log that does not verify is \
    refused, exit 1, naming the file. Several are read as one log merged in the documented order: each \
    consumer's records in log order (seq), between consumers by SQS SentTimestamp, then MessageId, then receive \
    count, then consumer id, then seq (`ordlog verify --help`); a receive without ApproximateReceiveCount is \
    counted among the merged receives of its message.
    """
