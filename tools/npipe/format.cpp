int npipe_placeholder_unused();
