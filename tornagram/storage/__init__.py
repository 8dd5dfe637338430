"""Media storage backends; each implements tornagram.storage.base.MediaStorage."""
