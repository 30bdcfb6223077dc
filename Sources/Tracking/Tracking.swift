// Tracking: the experiment domain and its stores.
