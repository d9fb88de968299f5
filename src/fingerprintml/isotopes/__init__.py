"""Source recognition of magnetic iron-oxide nanoparticles from Fe-O isotope fingerprints (NanoTracer)."""
