"""Where resources come from: files (and the overlay of files on a cluster) into one snapshot."""
