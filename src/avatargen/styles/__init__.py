"""avatargen.styles: probabilities of character styles (one value per attribute).

data (loading, validation) -> rules / consistency -> estimate (counts, MLE + Dirichlet, MI,
Chow-Liu) -> network (tree Bayesian network, exact inference) -> sample (ancestral, unique) ->
model (StyleModel: fit / probability / sample / save / load) -> explain, diversity, experiment.
"""
