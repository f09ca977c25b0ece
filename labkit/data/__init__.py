"""Package data: trained weights and the script that trains them."""
