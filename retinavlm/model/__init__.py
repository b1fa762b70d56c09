"""The vision-language model: OCT encoder, projection adapter, Llama 3 bridge, processor."""
